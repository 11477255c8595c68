// cancellation: a worker selects on ctx.Done() (G34) and its jobs; cancel() closes Done and
// ctx.Err() says why, "context canceled" (G35). Stopping is cooperative (G39).
package main

import (
	"context"

	"labkitreal/internal/out"
)

const c = "cancellation"

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	jobs := make(chan int) // unbuffered: each send is a hand-over
	done := make(chan struct{})
	go func() {
		processed := 0
		for {
			select {
			case <-ctx.Done():
				out.Emit(c, "stopped", "processed", processed, "reason", ctx.Err().Error())
				close(done)
				return
			case <-jobs:
				processed++
			}
		}
	}()
	for j := 0; j < 3; j++ {
		jobs <- j
	}
	cancel()
	<-done
}
