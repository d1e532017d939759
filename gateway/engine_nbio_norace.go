//go:build !race

package gateway

import "github.com/lesismal/nbio/nbhttp"

// nbioHandoff does nothing outside race builds: see engine_nbio_race.go.
func nbioHandoff(*nbhttp.Engine) {}
