package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/nassella/nassella/generator/site"
)

// bucket is one bucket to ensure.
type bucket struct {
	what       string // "state" or "backups"
	s3         *site.S3
	keyID      string // the secrets with its credentials
	secret     string
	versioning bool
}

func (r *runner) ensureBuckets(ctx context.Context) {
	var buckets []bucket
	if withState(&r.cfg) {
		buckets = append(buckets, bucket{"state", r.cfg.Site.State.S3, "STATE_S3_ACCESS_KEY_ID", "STATE_S3_SECRET_ACCESS_KEY", true})
	} else {
		r.report(Step{Name: "state bucket", Status: Warning, Detail: "site.yaml has no state.s3: the Terraform state stays in the CI workspace and is lost with it",
			Fix: "add state: {s3: {endpoint, bucket, region}} to site.yaml for any real site"})
	}
	if withBackups(&r.cfg) {
		buckets = append(buckets, bucket{"backups", r.cfg.Site.Backups.Target.S3, "BACKUP_S3_ACCESS_KEY_ID", "BACKUP_S3_SECRET_ACCESS_KEY", false})
	}
	for _, b := range buckets {
		r.ensureBucket(ctx, b)
	}
}

func (r *runner) s3Client(b bucket) *s3.Client {
	region := b.s3.Region
	endpoint := b.s3.Endpoint
	if r.cfg.S3Endpoint != "" {
		endpoint = r.cfg.S3Endpoint
	}
	if region == "" {
		region = "us-east-1"
	}
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(endpoint),
		Region:                     region,
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(r.cfg.Secrets[b.keyID], r.cfg.Secrets[b.secret], ""),
		HTTPClient:                 r.cfg.HTTPClient,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

func (r *runner) ensureBucket(ctx context.Context, b bucket) {
	name := fmt.Sprintf("%s bucket %s", b.what, b.s3.Bucket)
	if r.cfg.Secrets[b.keyID] == "" || r.cfg.Secrets[b.secret] == "" {
		r.report(Step{Name: name, Status: Skipped, Detail: fmt.Sprintf("needs %s and %s (see above)", b.keyID, b.secret)})
		return
	}
	c := r.s3Client(b)
	where := "at " + b.s3.Endpoint
	if r.cfg.S3Endpoint != "" {
		where = "at " + r.cfg.S3Endpoint
	}
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.s3.Bucket)})
	status := AlreadyThere
	detail := "exists " + where
	switch code := s3Status(err); {
	case err == nil:
	case code == http.StatusNotFound:
		in := &s3.CreateBucketInput{Bucket: aws.String(b.s3.Bucket)}
		if b.s3.Region != "" && b.s3.Region != "us-east-1" {
			in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(b.s3.Region)}
		}
		_, err := c.CreateBucket(ctx, in)
		var owned *types.BucketAlreadyOwnedByYou
		switch {
		case err == nil:
			status, detail = Done, "created "+where
		case errors.As(err, &owned):
		default:
			r.report(Step{Name: name, Status: Failed, Detail: "creating it: " + s3Message(err), Fix: s3Fix(err, b)})
			return
		}
	default:
		r.report(Step{Name: name, Status: Failed, Detail: "checking it: " + s3Message(err), Fix: s3Fix(err, b)})
		return
	}
	r.report(Step{Name: name, Status: status, Detail: detail})
	if b.versioning {
		r.ensureVersioning(ctx, c, b)
	}
}

// ensureVersioning turns versioning on for the state bucket, so an overwritten or
// deleted state can be brought back.
func (r *runner) ensureVersioning(ctx context.Context, c *s3.Client, b bucket) {
	name := fmt.Sprintf("versioning of %s bucket %s", b.what, b.s3.Bucket)
	notSupported := Step{Name: name, Status: Warning, Detail: "not supported by this provider",
		Fix: "keep backups of the state another way; without versioning an overwritten state cannot be brought back"}
	got, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b.s3.Bucket)})
	switch {
	case isNotImplemented(err):
		r.report(notSupported)
		return
	case err != nil:
		r.report(Step{Name: name, Status: Failed, Detail: "checking it: " + s3Message(err), Fix: s3Fix(err, b)})
		return
	case got.Status == types.BucketVersioningStatusEnabled:
		r.report(Step{Name: name, Status: AlreadyThere, Detail: "on"})
		return
	}
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(b.s3.Bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
	})
	switch {
	case isNotImplemented(err):
		r.report(notSupported)
	case err != nil:
		r.report(Step{Name: name, Status: Failed, Detail: "turning it on: " + s3Message(err), Fix: s3Fix(err, b)})
	default:
		r.report(Step{Name: name, Status: Done, Detail: "turned on"})
	}
}

func s3Status(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isNotImplemented(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NotImplemented" || ae.ErrorCode() == "NotSupported") {
		return true
	}
	return s3Status(err) == http.StatusNotImplemented
}

// s3Message is the service's error without the request's details.
func s3Message(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorCode()
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		return msg
	}
	return err.Error()
}

func s3Fix(err error, b bucket) string {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || s3Status(err) == http.StatusForbidden:
		return fmt.Sprintf("check %s and %s: they must be keys of this S3 service that may create and read buckets (a bucket with this name owned by someone else also gives 403: choose another name in site.yaml)", b.keyID, b.secret)
	case code == "BucketAlreadyExists":
		return "bucket names are global at this provider and someone else has this one: choose another bucket name in site.yaml"
	}
	return fmt.Sprintf("check the endpoint %s and the region %q in site.yaml, then run again", b.s3.Endpoint, b.s3.Region)
}
