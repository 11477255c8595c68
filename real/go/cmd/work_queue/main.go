// work_queue: two workers, one four times slower. Sharing one channel (MPMC, G7), the fast
// worker takes more of the jobs; with a queue per worker (round robin) each takes half and
// the slow one sets the pace. Timings are compared only as an order.
package main

import (
	"sync"
	"time"

	"labkitreal/internal/out"
)

const c = "work_queue"
const jobs = 12

var cost = map[string]time.Duration{"fast": 2 * time.Millisecond, "slow": 8 * time.Millisecond}

func worker(name string, in <-chan int, counts map[string]int, mu *sync.Mutex, wg *sync.WaitGroup) {
	defer wg.Done()
	for range in {
		time.Sleep(cost[name])
		mu.Lock()
		counts[name]++
		mu.Unlock()
	}
}

func run(layout string) time.Duration {
	start := time.Now()
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	names := []string{"fast", "slow"}
	queues := map[string]chan int{}
	shared := make(chan int, jobs)
	for _, n := range names {
		if layout == "shared" {
			queues[n] = shared
		} else {
			queues[n] = make(chan int, jobs)
		}
	}
	for j := 0; j < jobs; j++ {
		if layout == "shared" {
			shared <- j
		} else {
			queues[names[j%2]] <- j
		}
	}
	for _, n := range names {
		if layout != "shared" {
			close(queues[n])
		}
	}
	if layout == "shared" {
		close(shared)
	}
	wg.Add(2)
	for _, n := range names {
		go worker(n, queues[n], counts, &mu, &wg)
	}
	wg.Wait()
	for _, n := range names {
		out.Emit(c, "jobs", "layout", layout, "worker", n, "count", counts[n])
	}
	return time.Since(start)
}

func main() {
	shared := run("shared")
	perWorker := run("per_worker")
	faster := "shared"
	if perWorker < shared {
		faster = "per_worker"
	}
	out.Emit(c, "faster", "layout", faster)
}
