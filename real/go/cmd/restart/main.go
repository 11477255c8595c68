// restart: a worker that panics on a poison job; a deferred recover() in the same goroutine
// (G32) stops the panic and the loop starts the worker again on the remaining jobs.
package main

import (
	"fmt"

	"labkitreal/internal/out"
)

const c = "restart"

func main() {
	jobs := make(chan string, 6)
	for _, j := range []string{"a", "b", "poison", "c", "poison", "d"} {
		jobs <- j
	}
	close(jobs)
	restarts := 0
	for {
		finished := func() (ok bool) {
			defer func() {
				if r := recover(); r != nil {
					out.Emit(c, "recovered", "display", fmt.Sprint(r))
					restarts++
				}
			}()
			for j := range jobs {
				if j == "poison" {
					panic("poison job")
				}
				out.Emit(c, "processed", "job", j)
			}
			return true
		}()
		if finished {
			break
		}
	}
	out.Emit(c, "done", "restarts", restarts)
}
