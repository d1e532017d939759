package admin

// OpenLogFollows is the number of log follows s holds open, for tests of the
// admin_test package.
func OpenLogFollows(s *Server) int { return s.follows.count() }

// Patterns are the routes s serves through Handle and HandleAPIGateway, in
// the order they were registered.
func Patterns(s *Server) []string { return append([]string(nil), s.patterns...) }

// ActiveConns is the number of s's connections reading or serving a request.
func ActiveConns(s *Server) int { return s.srv.Active() }
