// Go module version order with golang.org/x/mod/semver (Debian's golang-golang-x-mod-dev).
// OSV's Go ecosystem writes versions without the "v"; it is added for semver's sake.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

func withV(s string) string {
	if strings.HasPrefix(s, "v") {
		return s
	}
	return "v" + s
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		line := in.Text()
		if os.Args[1] == "valid" {
			v := "invalid"
			if semver.IsValid(withV(line)) {
				v = "valid"
			}
			fmt.Printf("%s\t%s\n", line, v)
			continue
		}
		ab := strings.SplitN(line, "\t", 2)
		a, b := withV(ab[0]), withV(ab[1])
		op := "!"
		if semver.IsValid(a) && semver.IsValid(b) {
			op = [...]string{"<", "=", ">"}[semver.Compare(a, b)+1]
		}
		fmt.Printf("%s\t%s\t%s\n", ab[0], op, ab[1])
	}
}
