package awstest

import "syscall"

// procAttr puts moto_server in its own process group, so Stop reaches the
// interpreter behind a pyenv shim, and has the kernel kill it if the test
// process dies first, so no emulator outlives a killed test.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
