// panic_texts: the texts of Go's channel panics (G13, G14), of a negative WaitGroup
// counter (G40), and of ctx.Err() after cancel and after a deadline (G35, G37), each
// recovered in the goroutine that panicked (G32).
package main

import (
	"context"
	"fmt"
	"sync"

	"labkitreal/internal/out"
)

const c = "panic_texts"

func try(op string, f func()) {
	defer func() {
		out.Emit(c, "panic", "op", op, "display", fmt.Sprint(recover()))
	}()
	f()
}

func main() {
	try("send_on_closed", func() {
		ch := make(chan int, 1)
		close(ch)
		ch <- 1
	})
	try("close_closed", func() {
		ch := make(chan int)
		close(ch)
		close(ch)
	})
	try("close_nil", func() {
		var ch chan int
		close(ch)
	})
	try("negative_waitgroup", func() {
		var wg sync.WaitGroup
		wg.Add(-1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out.Emit(c, "context", "how", "cancel", "err", ctx.Err().Error())
	ctx, cancel = context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	out.Emit(c, "context", "how", "timeout", "err", ctx.Err().Error())
}
