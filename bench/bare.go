package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// runBare serves the baseline: a gin.New() router in ReleaseMode (as
// Gavel's) with one POST route that reads the body and answers 200 {}.
// It prints "listening <addr>" once it accepts connections and serves
// until ctx ends. The server timeouts are Gavel's.
func runBare(ctx context.Context, listen string, stdout io.Writer) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/webhook/:platform", func(c *gin.Context) {
		if _, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)); err != nil {
			c.AbortWithStatus(http.StatusBadRequest)
			return
		}
		c.JSON(http.StatusOK, gin.H{})
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
