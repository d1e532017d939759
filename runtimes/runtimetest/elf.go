package runtimetest

import (
	"debug/elf"
	"encoding/binary"
	"os"
	goruntime "runtime"
	"testing"
)

// ForeignELF writes at path, mode 0755, the ELF header of an executable built
// for another architecture than this machine's (arm64, or amd64 on an arm64
// machine), nothing a kernel could run, and returns that architecture (a
// GOARCH name): a bootstrap built for the wrong CPU.
func ForeignELF(t testing.TB, path string) (arch string) {
	t.Helper()
	m, arch := elf.EM_AARCH64, "arm64"
	if goruntime.GOARCH == "arm64" {
		m, arch = elf.EM_X86_64, "amd64"
	}
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(m))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	//nolint:gosec // G306: an executable, as a bootstrap is
	if err := os.WriteFile(path, h, 0o755); err != nil {
		t.Fatal(err)
	}
	return arch
}
