//go:build !unix

package gateway

// DefaultMaxConns is Config.MaxConns's default: no bound where the file
// descriptor limit is not known.
func DefaultMaxConns() int { return 0 }
