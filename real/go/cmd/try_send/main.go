// try_send: Go's non-blocking send is a select with default (G22): on a full buffer the
// default case runs and the value simply stays with the sender (G2). Sending on a closed
// channel panics (G13); recover() in the same goroutine stops it (G32).
package main

import (
	"fmt"

	"labkitreal/internal/out"
)

const c = "try_send"

func main() {
	ch := make(chan int, 2)
	for v := 1; v <= 3; v++ {
		select {
		case ch <- v:
			out.Emit(c, "try_send", "value", v, "result", "ok")
		default:
			out.Emit(c, "try_send", "value", v, "result", "full")
		}
	}
	v := <-ch
	out.Emit(c, "recv", "value", v)
	close(ch)
	func() {
		defer func() {
			if r := recover(); r != nil {
				out.Emit(c, "send", "value", 5, "result", "panic", "display", fmt.Sprint(r))
			}
		}()
		ch <- 5
	}()
}
