// ownership: a send copies its value. A struct arrives as it was when sent; a slice is a
// small header that shares its backing array, so a later write shows through.
package main

import "labkitreal/internal/out"

const c = "ownership"

type point struct{ X int }

func main() {
	pts := make(chan point, 1)
	p := point{X: 1}
	pts <- p
	p.X = 99 // after the send
	got := <-pts
	out.Emit(c, "received", "kind", "struct", "value", got.X)

	slices := make(chan []int, 1)
	s := []int{1}
	slices <- s
	s[0] = 99 // after the send
	gotS := <-slices
	out.Emit(c, "received", "kind", "slice", "value", gotS[0])
}
