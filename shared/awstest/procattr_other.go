//go:build !linux

package awstest

import "syscall"

// procAttr puts moto_server in its own process group, so Stop reaches the
// interpreter behind a pyenv shim.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
