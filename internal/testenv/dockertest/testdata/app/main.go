// Command app is the one program of dockertest's test image. `app NAME ADDR FILE` writes
// NAME to FILE (the test looks for it in the bind mount's source), then serves HTTP on
// ADDR: / answers "hello from NAME", /fetch?url=U answers what U answers (how the test
// checks that one container reaches another by its network alias). It exits on SIGTERM:
// as a container's first process it would otherwise ignore it. `app -print TEXT` prints
// TEXT and exits (for `docker compose exec`).
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-print" {
		fmt.Println(os.Args[2])
		return
	}
	if len(os.Args) != 4 {
		log.Fatal("usage: app NAME ADDR FILE")
	}
	name, addr, file := os.Args[1], os.Args[2], os.Args[3]
	if err := os.WriteFile(file, []byte(name+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", name)
	})
	http.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		os.Exit(0)
	}()
	log.Printf("%s listening on %s", name, addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
