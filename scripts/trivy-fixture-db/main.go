// Command trivy-fixture-db writes a small, real Trivy vulnerability database from a JSON fixture,
// so that the pipeline's vulnerability gate can be tested where Trivy's published database cannot
// be downloaded:
//
//	trivy-fixture-db -fixture test/fixtures/vulndb/advisories.json -out OUTDIR
//
// writes OUTDIR/db/trivy.db and OUTDIR/db/metadata.json; then
//
//	trivy image --cache-dir OUTDIR --skip-db-update --offline-scan ...
//
// scans against it. The database is written with Trivy's own DB library (github.com/aquasecurity/trivy-db,
// the version trivy's go.mod requires) the way its builder does: each advisory goes into the
// "advisory-detail" and "vulnerability-detail" buckets and the "data-source" bucket through the
// library's Put* functions (as its debian and osv/ghsa sources do), then the builder's optimize step
// (SaveAdvisoryDetails copies advisories into the per-source buckets, e.g. "debian 12" and
// "pip::GitHub Security Advisory pip"; vulnerability.Normalize fills the "vulnerability" bucket with
// severities) and its cleanup step (the detail buckets are dropped). vulndb.TrivyDB.Build does the
// same steps, but importing it links every upstream source, and the GHSA one lists Go's standard
// library (go list std) when the program starts; this program links only what it uses.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/ecosystem"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
)

// Fixture is the JSON file: advisories made up for tests.
type Fixture struct {
	Comment    string     `json:"_comment,omitempty"`
	Advisories []Advisory `json:"advisories"`
}

// Advisory is one made-up advisory against one package of one ecosystem.
type Advisory struct {
	// ID is the vulnerability id trivy reports (VulnerabilityID), e.g. CVE-0000-0001.
	ID string `json:"id"`
	// Ecosystem is "debian" (OS package, by Debian source package name) or "pip".
	Ecosystem string `json:"ecosystem"`
	// Release is the Debian major version for "debian", e.g. "12" (bookworm).
	Release string `json:"release,omitempty"`
	// Package is the Debian source package name, or the Python distribution name.
	Package string `json:"package"`
	// Severity is UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL.
	Severity string `json:"severity"`
	// FixedVersion (debian): versions below it are affected; empty means not fixed, every version
	// is affected (Status then says how: "affected", "will_not_fix", ...).
	FixedVersion string `json:"fixedVersion,omitempty"`
	Status       string `json:"status,omitempty"`
	// VulnerableVersions and PatchedVersions (pip): PEP 440 ranges as trivy-db stores them, e.g.
	// ">=3.0.0, <3.1.4" and "3.1.4". No PatchedVersions means not fixed.
	VulnerableVersions []string `json:"vulnerableVersions,omitempty"`
	PatchedVersions    []string `json:"patchedVersions,omitempty"`
	Title              string   `json:"title,omitempty"`
	Description        string   `json:"description,omitempty"`
	References         []string `json:"references,omitempty"`
}

// The data sources, as trivy-db's debian and ghsa sources name them.
var (
	debianSource = types.DataSource{
		ID:   vulnerability.Debian,
		Name: "Debian Security Tracker",
		URL:  "https://salsa.debian.org/security-tracker-team/security-tracker",
	}
	pipSource = types.DataSource{
		ID:   vulnerability.GHSA,
		Name: "GitHub Security Advisory pip",
		URL:  "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Apip",
	}
)

func main() {
	fixturePath := flag.String("fixture", "", "the advisories JSON file")
	out := flag.String("out", "", "the cache directory to write: OUT/db/trivy.db and OUT/db/metadata.json")
	updatedAt := flag.String("updated-at", "", "metadata UpdatedAt, RFC 3339 (default: now)")
	nextUpdate := flag.String("next-update", "2099-01-01T00:00:00Z", "metadata NextUpdate, RFC 3339 (far ahead: trivy --skip-db-update never finds it stale)")
	schema := flag.Int("schema-version", db.SchemaVersion, "metadata Version (the DB schema trivy expects; an older one makes trivy refuse it)")
	flag.Parse()
	if *fixturePath == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: trivy-fixture-db -fixture FILE.json -out CACHE_DIR [-updated-at T] [-next-update T] [-schema-version N]")
		os.Exit(2)
	}
	if err := run(*fixturePath, *out, *updatedAt, *nextUpdate, *schema); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-fixture-db:", err)
		os.Exit(1)
	}
}

func run(fixturePath, out, updatedAtFlag, nextUpdateFlag string, schema int) error {
	fixture, err := readFixture(fixturePath)
	if err != nil {
		return err
	}
	updatedAt := time.Now().UTC().Truncate(time.Second)
	if updatedAtFlag != "" {
		if updatedAt, err = time.Parse(time.RFC3339, updatedAtFlag); err != nil {
			return fmt.Errorf("-updated-at: %w", err)
		}
	}
	nextUpdate, err := time.Parse(time.RFC3339, nextUpdateFlag)
	if err != nil {
		return fmt.Errorf("-next-update: %w", err)
	}

	dbDir := filepath.Join(out, "db")
	// A database is built anew: the library's writers add to whatever trivy.db already holds.
	for _, f := range []string{db.Path(dbDir), metadata.Path(dbDir)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := db.Init(dbDir); err != nil {
		return fmt.Errorf("open %s: %w", db.Path(dbDir), err)
	}
	defer db.Close()

	dbc := db.Config{}
	if err := dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, adv := range fixture.Advisories {
			if err := put(dbc, tx, adv); err != nil {
				return fmt.Errorf("%s (%s %s): %w", adv.ID, adv.Ecosystem, adv.Package, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := optimize(dbc); err != nil {
		return err
	}
	if err := cleanup(dbc); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}

	md := metadata.Metadata{Version: schema, NextUpdate: nextUpdate.UTC(), UpdatedAt: updatedAt.UTC()}
	if err := metadata.NewClient(dbDir).Update(md); err != nil {
		return err
	}
	fmt.Printf("%s: %d advisories (schema %d, updated %s, next update %s)\n", db.Path(dbDir),
		len(fixture.Advisories), schema, md.UpdatedAt.Format(time.RFC3339), md.NextUpdate.Format(time.RFC3339))
	return nil
}

func readFixture(path string) (Fixture, error) {
	var fixture Fixture
	b, err := os.ReadFile(path)
	if err != nil {
		return fixture, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fixture); err != nil {
		return fixture, fmt.Errorf("%s: %w", path, err)
	}
	if len(fixture.Advisories) == 0 {
		return fixture, fmt.Errorf("%s: no advisories", path)
	}
	seen := map[string]bool{}
	for i, adv := range fixture.Advisories {
		key := adv.ID + "\x00" + adv.Ecosystem + "\x00" + adv.Release + "\x00" + adv.Package
		switch {
		case adv.ID == "" || adv.Package == "":
			return fixture, fmt.Errorf("%s: advisory %d: id and package are required", path, i)
		case seen[key]:
			return fixture, fmt.Errorf("%s: %s is listed twice for %s %s", path, adv.ID, adv.Ecosystem, adv.Package)
		}
		seen[key] = true
		if _, err := types.NewSeverity(adv.Severity); err != nil {
			return fixture, fmt.Errorf("%s: %s: %w", path, adv.ID, err)
		}
	}
	return fixture, nil
}

// put stores one advisory as trivy-db's own sources do (debian.defaultPut, osv.commit).
func put(dbc db.Config, tx *bolt.Tx, adv Advisory) error {
	severity, _ := types.NewSeverity(adv.Severity)
	var (
		bktName string
		source  types.DataSource
		detail  types.Advisory
	)
	switch adv.Ecosystem {
	case "debian":
		if adv.Release == "" {
			return errors.New("release is required for debian (e.g. 12)")
		}
		if len(adv.VulnerableVersions)+len(adv.PatchedVersions) > 0 {
			return errors.New("debian advisories use fixedVersion, not vulnerableVersions/patchedVersions")
		}
		status, err := parseStatus(adv.Status, adv.FixedVersion)
		if err != nil {
			return err
		}
		bktName, source = bucket.NewDebian(adv.Release).Name(), debianSource
		// Debian's advisories carry a per-package severity too (trivy prefers it for OS packages).
		detail = types.Advisory{FixedVersion: adv.FixedVersion, Status: status, Severity: severity}
	case "pip":
		if adv.Release != "" || adv.FixedVersion != "" || adv.Status != "" {
			return errors.New("pip advisories use vulnerableVersions/patchedVersions, not release/fixedVersion/status")
		}
		if len(adv.VulnerableVersions) == 0 {
			return errors.New("vulnerableVersions is required for pip")
		}
		b, err := bucket.NewPyPI(pipSource)
		if err != nil {
			return err
		}
		bktName, source = b.Name(), pipSource
		detail = types.Advisory{VulnerableVersions: adv.VulnerableVersions, PatchedVersions: adv.PatchedVersions}
	default:
		return fmt.Errorf("unknown ecosystem %q (debian or pip)", adv.Ecosystem)
	}

	pkgName := adv.Package
	if adv.Ecosystem == "pip" {
		pkgName = vulnerability.NormalizePkgName(ecosystem.Pip, pkgName)
	}
	if err := dbc.PutDataSource(tx, bktName, source); err != nil {
		return err
	}
	if err := dbc.PutAdvisoryDetail(tx, adv.ID, pkgName, []string{bktName}, &detail); err != nil {
		return err
	}
	vuln := types.VulnerabilityDetail{
		Severity:    severity,
		Title:       adv.Title,
		Description: adv.Description,
		References:  adv.References,
	}
	if err := dbc.PutVulnerabilityDetail(tx, adv.ID, source.ID, vuln); err != nil {
		return err
	}
	return dbc.PutVulnerabilityID(tx, adv.ID)
}

// parseStatus: as trivy-db's debian source stores it, a fixed advisory has no status (its
// FixedVersion says it all), an unfixed one "affected" unless told otherwise ("will_not_fix", ...).
func parseStatus(s, fixedVersion string) (types.Status, error) {
	switch {
	case fixedVersion != "" && s != "":
		return 0, fmt.Errorf("status %q with a fixedVersion", s)
	case fixedVersion != "":
		return types.StatusUnknown, nil
	case s == "":
		return types.StatusAffected, nil
	}
	for i, name := range types.Statuses {
		if name == s {
			return types.Status(i), nil
		}
	}
	return 0, fmt.Errorf("unknown status %q (one of %s)", s, strings.Join(types.Statuses, ", "))
}

// optimize is trivy-db's vulndb.TrivyDB.optimize: copy each advisory into its source's bucket and
// put the normalized vulnerability (severities, title, ...) into the "vulnerability" bucket.
func optimize(dbc db.Config) error {
	vulnClient := vulnerability.New(dbc)
	return dbc.ForEachVulnerabilityID(func(tx *bolt.Tx, vulnID string) error {
		details := vulnClient.GetDetails(vulnID)
		if vulnClient.IsRejected(details) {
			return nil
		}
		if err := dbc.SaveAdvisoryDetails(tx, vulnID); err != nil {
			return err
		}
		if len(details) == 0 {
			return nil
		}
		return dbc.PutVulnerability(tx, vulnID, vulnClient.Normalize(vulnID, details))
	})
}

// cleanup is trivy-db's vulndb.TrivyDB.cleanup: the working buckets are not shipped.
func cleanup(dbc db.Config) error {
	if err := dbc.DeleteVulnerabilityIDBucket(); err != nil {
		return err
	}
	if err := dbc.DeleteVulnerabilityDetailBucket(); err != nil {
		return err
	}
	return dbc.DeleteAdvisoryDetailBucket()
}
