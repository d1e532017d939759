package runtimes

import (
	"debug/elf"
	"runtime"
)

// elfArches names the Go architecture (GOARCH) of the ELF machines a
// bootstrap is most often built for.
var elfArches = map[elf.Machine]string{
	elf.EM_X86_64:  "amd64",
	elf.EM_AARCH64: "arm64",
	elf.EM_386:     "386",
	elf.EM_ARM:     "arm",
	elf.EM_RISCV:   "riscv64",
	elf.EM_PPC64:   "ppc64le",
	elf.EM_S390:    "s390x",
}

// ForeignArch reads the ELF headers of the executable at path (on a
// failure path only) and returns the architecture it was built for when that is not this
// machine's (runtime.GOARCH), as a GOARCH name ("arm64"; the ELF machine's
// name for one Go does not name), else "": the file is missing, not ELF, or
// built for this machine.
func ForeignArch(path string) string {
	f, err := elf.Open(path) //nolint:gosec // G304: the function's own entrypoint, read to explain its failure
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	arch, ok := elfArches[f.Machine]
	if !ok {
		arch = f.Machine.String()
	}
	if arch == runtime.GOARCH || (f.Machine == elf.EM_PPC64 && runtime.GOARCH == "ppc64") {
		return ""
	}
	return arch
}

// ForeignArchAdvice says what to do about an entrypoint built for arch, which
// is not this machine's.
func ForeignArchAdvice(arch string) string {
	return "it is built for " + arch + ", and this machine runs " + runtime.GOARCH +
		": rebuild it for " + runtime.GOARCH + " (for Go: GOOS=linux GOARCH=" + runtime.GOARCH + " CGO_ENABLED=0 go build)"
}
