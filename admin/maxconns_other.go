//go:build !unix

package admin

// MaxConns is how many connections the admin API holds open at once: 1,024
// where the file descriptor limit is not read.
func MaxConns() int { return 1024 }
