// select_fairness: with both cases ready, select picks one uniformly at random (G21).
package main

import "labkitreal/internal/out"

const c = "select_fairness"

func main() {
	const total = 2000
	a, b := make(chan int, 1), make(chan int, 1)
	first := 0
	for i := 0; i < total; i++ {
		a <- i
		b <- i
		select {
		case <-a:
			first++
			<-b
		case <-b:
			<-a
		}
	}
	out.Emit(c, "share", "mode", "random", "first", first, "total", total)
}
