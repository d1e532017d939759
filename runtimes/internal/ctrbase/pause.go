package ctrbase

import (
	"bytes"
	"encoding/binary"
	goruntime "runtime"
)

// PausePath is where the Zip base image holds the pause program that keeps a
// prepared sandbox's network namespace (see the docker runtime's Prepare).
const PausePath = "/usr/local/bin/portico-pause"

// PauseProgram returns a minimal static Linux executable that blocks in pause(2)
// forever (Kubernetes' "pause" container, 129 bytes), or nil where none is built
// for this architecture. A holder container runs it so that the network
// namespace it owns exists ahead of need.
func PauseProgram() []byte {
	if goruntime.GOARCH != "amd64" {
		return nil
	}
	// loop: mov eax, 34 (SYS_pause); syscall; jmp loop
	code := []byte{0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7}
	const base, ehsize, phsize = 0x400000, 64, 56
	size := uint64(ehsize + phsize + len(code))
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LE */, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w(uint16(2))                      // ET_EXEC
	w(uint16(0x3e))                   // EM_X86_64
	w(uint32(1))                      // EV_CURRENT
	w(uint64(base + ehsize + phsize)) // entry: the code, after the headers
	w(uint64(ehsize))                 // program headers follow the ELF header
	w(uint64(0))                      // no section headers
	w(uint32(0))                      // flags
	w(uint16(ehsize))
	w(uint16(phsize))
	w(uint16(1)) // one program header
	w(uint16(0))
	w(uint16(0))
	w(uint16(0))
	// PT_LOAD of the whole file, readable and executable.
	w(uint32(1))
	w(uint32(5))
	w(uint64(0))
	w(uint64(base))
	w(uint64(base))
	w(size)
	w(size)
	w(uint64(0x1000))
	b.Write(code)
	return b.Bytes()
}
