// Package out prints the observable outcome of a case as JSON lines, in the one shape every
// real program and every labkit twin shares:
//
//	{"case": "ping_pong", "model": "go", "event": "hit", ...fields}
package out

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

var mu sync.Mutex

// Emit prints one event of case c; kv are field names and values, in pairs.
func Emit(c, event string, kv ...any) {
	line := map[string]any{"case": c, "model": "go", "event": event}
	for i := 0; i+1 < len(kv); i += 2 {
		line[kv[i].(string)] = kv[i+1]
	}
	data, err := json.Marshal(line) // keys sorted
	if err != nil {
		panic(err)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(string(data))
}

// Child runs this program again with arg, copies the child's JSON lines to stdout, and
// returns the child's exit status and the first line of its stderr: how a case shows a
// program that dies (a panic, a deadlock) while still reporting it as JSON.
func Child(arg string) (int, string) {
	cmd := exec.Command(os.Args[0], arg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	status := 0
	if err := cmd.Run(); err != nil {
		exit, ok := err.(*exec.ExitError)
		if !ok {
			panic(err)
		}
		status = exit.ExitCode()
	}
	os.Stdout.Write(stdout.Bytes())
	first := strings.SplitN(stderr.String(), "\n", 2)[0]
	return status, first
}
