// Package mapping is a Velocity (VTL) engine for API Gateway's mapping-template
// dialect: the templates REST APIs run on integration requests, integration
// responses and gateway responses.
//
// A template is parsed once with [Parse] (errors carry the line and column)
// and rendered any number of times, concurrently, with [Template.Render]
// against the request's [Vars]: $input (body, JSONPath, parameters), $util,
// $context and $stageVariables. A render is bounded by the caller's context and
// by [Limits] (output bytes, #foreach iterations, evaluation steps, recursion
// depth); crossing a bound returns an error wrapping [ErrLimit]. A method that
// fails at run time (invalid JSON for $input.json, a bad base64 string) returns
// an error wrapping [ErrEval]. A template that does not parse returns a
// *[SyntaxError] wrapping [ErrSyntax].
//
// The dialect is Apache Velocity 1.7 as API Gateway runs it: lenient
// references (an undefined reference renders as its own source text, or as
// nothing when written $!ref), Java-style method calls on strings, lists and
// maps, Java-style rendering of maps ({a=1, b=2}) and lists ([1, 2]), with the
// API Gateway quirks listed in docs/mapping-templates.md.
//
// The package imports only the standard library, so any gateway stage can use
// it without import cycles.
package mapping
