package admin

// OpenLogFollows is the number of log follows s holds open, for tests of the
// admin_test package.
func OpenLogFollows(s *Server) int { return s.follows.count() }
