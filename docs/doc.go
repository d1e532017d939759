// Package docs holds the documentation's test: TestDocs runs the shell blocks of
// README.md and docs/*.md marked `<!-- doctest -->` (package internal/doctest
// describes the markers), in order, each page in one bash session against a
// server started as the page says, with the freshly built portico on the PATH.
// It has no code of its own.
package docs
