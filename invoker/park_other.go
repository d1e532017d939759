//go:build !linux

package invoker

// canPark reports false: nexts wait on the channels.
func (v *peerVerdict) canPark() bool { return false }

func (v *peerVerdict) park(*nextWait) (readable, deadline bool) { return false, false }
