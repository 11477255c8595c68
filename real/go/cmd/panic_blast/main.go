// panic_blast: an unrecovered panic in any goroutine ends the whole program, exit status 2,
// with "panic: VALUE" on stderr (G31); main never gets to finish.
package main

import (
	"os"

	"labkitreal/internal/out"
)

const c = "panic_blast"

func main() {
	if len(os.Args) > 1 {
		never := make(chan struct{})
		go func() { panic("boom") }()
		<-never
		out.Emit(c, "main_finished")
		return
	}
	status, stderr := out.Child("child")
	out.Emit(c, "exit", "status", status, "stderr", stderr)
}
