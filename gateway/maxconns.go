package gateway

// maxConns is the bound Config.MaxConns sets: 0 for none.
func maxConns(configured int) int {
	switch {
	case configured > 0:
		return configured
	case configured < 0:
		return 0
	}
	return DefaultMaxConns()
}

// maxUnread is the unread budget Config.MaxUnreadBytes configures: zero for
// no bound.
func maxUnread(configured int64) int64 {
	switch {
	case configured > 0:
		return configured
	case configured < 0:
		return 0
	}
	return DefaultMaxUnreadBytes
}
