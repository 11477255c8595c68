// ping_pong: two goroutines hit a ball over two unbuffered channels (G1), three rounds.
package main

import "labkitreal/internal/out"

const c = "ping_pong"

func pong(inbox <-chan int, outbox chan<- int, done chan<- struct{}) {
	for ball := range inbox { // until ping closes inbox (G28)
		out.Emit(c, "hit", "by", "pong", "ball", ball+1)
		outbox <- ball + 1
	}
	close(done)
}

func main() {
	ping, pongCh, done := make(chan int), make(chan int), make(chan struct{})
	go pong(ping, pongCh, done)
	ball := 0
	for round := 0; round < 3; round++ {
		out.Emit(c, "hit", "by", "ping", "ball", ball)
		ping <- ball // waits for pong's receive: a rendezvous
		ball = <-pongCh
	}
	close(ping)
	<-done
	out.Emit(c, "result", "ball", ball)
}
