// rendezvous: a non-blocking send (select with default, G22) on an unbuffered channel finds
// no receiver (G1); on a buffered one it succeeds until the buffer is full (G2), and the
// buffer drains in FIFO order (G3).
package main

import "labkitreal/internal/out"

const c = "rendezvous"

func main() {
	for _, capacity := range []int{0, 2} {
		ch := make(chan int, capacity)
		accepted := 0
		for v := 1; v <= 3; v++ {
			select {
			case ch <- v:
				accepted++
			default: // nobody ready and no room: the value stays with the sender
			}
		}
		out.Emit(c, "accepted", "capacity", capacity, "count", accepted)
		close(ch)
		values := []int{}
		for v := range ch {
			values = append(values, v)
		}
		out.Emit(c, "drained", "capacity", capacity, "values", values)
	}
}
