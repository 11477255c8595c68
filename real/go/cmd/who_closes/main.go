// who_closes: the receiver ranges over a channel (G28). If the sender never closes it, the
// range never ends: every goroutine is asleep and the runtime reports a deadlock, exit
// status 2 (G33). The fix: the sender closes the channel when it is done (G11, G16).
package main

import (
	"os"

	"labkitreal/internal/out"
)

const c = "who_closes"

func run(closes bool) {
	ch := make(chan int)
	go func() {
		for i := 1; i <= 3; i++ {
			ch <- i
		}
		if closes {
			close(ch)
		}
	}()
	sum := 0
	for v := range ch {
		out.Emit(c, "received", "value", v)
		sum += v
	}
	out.Emit(c, "done", "sum", sum)
}

func main() {
	if len(os.Args) > 1 {
		run(os.Args[1] == "fix")
		return
	}
	for _, variant := range []string{"hang", "fix"} {
		out.Emit(c, "variant", "name", variant)
		status, stderr := out.Child(variant)
		out.Emit(c, "exit", "status", status, "stderr", stderr)
	}
}
