// Command s3-ceiling downloads every object of a bucket with the AWS SDK, as trailhound
// ingest s3 fetches them (same client settings, 32 at a time), and discards the bodies:
// nothing is decoded or stored. On a machine that also runs the S3 server, its time is the
// most any S3 ingest could achieve there. Used by .ci/bench-ingest-s3.
//
// Usage: go run ./.ci/s3-ceiling BUCKET [CONCURRENCY]   (endpoint from AWS_ENDPOINT_URL_S3)
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trailhound/trailhound/ingest"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "s3-ceiling:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	if len(os.Args) < 2 {
		return fmt.Errorf("usage: s3-ceiling BUCKET [CONCURRENCY]")
	}
	bucket, conc := os.Args[1], 32
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			return err
		}
		conc = n
	}
	cfg, err := ingest.LoadAWSConfig(ctx, ingest.AWSOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	cl := ingest.NewS3Client(cfg, "", os.Getenv)
	var keys []string
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range out.Contents {
			keys = append(keys, *o.Key)
		}
	}
	start := time.Now()
	ch := make(chan string)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for k := range ch {
				out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
				if err != nil {
					errs <- err
					return
				}
				_, err = io.Copy(io.Discard, out.Body)
				out.Body.Close()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("%d objects in %.2f s: %.0f objects/s; client CPU %.1f s\n", len(keys), secs, float64(len(keys))/secs, cpu.Seconds())
	return nil
}
