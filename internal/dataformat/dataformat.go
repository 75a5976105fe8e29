package dataformat

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/camchain/camchain/internal/atomicfile"
)

// Names inside a data directory.
const (
	FormatName    = "FORMAT"
	MigratingName = "MIGRATING"
	BackupDirName = "backup"
	// maxFormatFile bounds what is read of FORMAT and MIGRATING.
	maxFormatFile = 256
)

// Format is a kind of data directory and the version this build writes.
type Format struct {
	Name    string // e.g. "camchain-hub-data"
	Version int
}

// Line is FORMAT's content at version v.
func (f Format) line(v int) string { return f.Name + " " + strconv.Itoa(v) + "\n" }

// Line is FORMAT's content for this build.
func (f Format) Line() string { return f.line(f.Version) }

// Errors, for errors.Is.
var (
	ErrNoFormat = errors.New("no FORMAT file")
	ErrNewer    = errors.New("written by a newer release")
	ErrForeign  = errors.New("not this kind of data directory")
)

// NewerError is a directory at a version above the build's: a downgrade.
type NewerError struct {
	Dir          string
	Name         string
	Found, Reads int
}

func (e *NewerError) Error() string {
	return fmt.Sprintf("%s holds %s version %d, written by a newer release; this one reads up to version %d. "+
		"Install the newer release again (downgrades are refused so that nothing in it is misread or overwritten)",
		e.Dir, e.Name, e.Found, e.Reads)
}

func (e *NewerError) Unwrap() error { return ErrNewer }

// Migration moves a directory from version From to From+1. Changes lists
// every path (relative to the directory, files or directories) that Apply
// may create, rewrite or remove; they are backed up before it runs, and a
// crash inside Apply is undone from that backup. Apply must not touch
// anything else.
type Migration struct {
	From    int
	Changes []string
	Apply   func(dir string) error
}

// Read returns the version of f's kind in dir/FORMAT.
func Read(dir string, f Format) (int, error) {
	b, err := readSmall(filepath.Join(dir, FormatName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%s: %w", dir, ErrNoFormat)
	}
	if err != nil {
		return 0, err
	}
	s := string(b)
	rest, ok := strings.CutPrefix(s, f.Name+" ")
	if !ok || !strings.HasSuffix(rest, "\n") {
		return 0, fmt.Errorf("%s: FORMAT says %q, not %s: %w", dir, strings.TrimSpace(s), f.Name, ErrForeign)
	}
	v, err := strconv.Atoi(strings.TrimSuffix(rest, "\n"))
	if err != nil || v < 1 || strconv.Itoa(v)+"\n" != rest {
		return 0, fmt.Errorf("%s: FORMAT says %q: the version is not a number: %w", dir, strings.TrimSpace(s), ErrForeign)
	}
	return v, nil
}

// Write writes dir/FORMAT for this build (atomically).
func Write(dir string, f Format) error {
	return atomicfile.Write(filepath.Join(dir, FormatName), []byte(f.Line()), 0o600)
}

// Open checks dir's FORMAT, finishes or undoes a migration a crash
// interrupted, and runs the migrations from the directory's version up to
// f.Version. It returns the version the directory had (f.Version when
// nothing was to do). ErrNoFormat: dir is not (yet) a data directory.
func Open(dir string, f Format, migrations []Migration) (int, error) {
	found, err := Read(dir, f)
	if err != nil {
		return 0, err
	}
	if found > f.Version {
		return found, &NewerError{Dir: dir, Name: f.Name, Found: found, Reads: f.Version}
	}
	if err := recoverMigration(dir, f, found); err != nil {
		return found, err
	}
	// recoverMigration may have found the step done.
	if found, err = Read(dir, f); err != nil {
		return 0, err
	}
	from := found
	for v := found; v < f.Version; v++ {
		m, ok := findMigration(migrations, v)
		if !ok {
			return from, fmt.Errorf("%s holds %s version %d, and this release has no migration from it (it reads version %d): upgrade through an intermediate release", dir, f.Name, v, f.Version)
		}
		if err := migrate(dir, f, m); err != nil {
			return from, fmt.Errorf("%s: migrating %s from version %d to %d: %w (the data is as it was; the backup is in %s)", dir, f.Name, v, v+1, err, backupDir(dir, f, v))
		}
	}
	return from, nil
}

func findMigration(ms []Migration, from int) (Migration, bool) {
	for _, m := range ms {
		if m.From == from {
			return m, true
		}
	}
	return Migration{}, false
}

func backupDir(dir string, f Format, from int) string {
	return filepath.Join(dir, BackupDirName, f.Name+"-"+strconv.Itoa(from))
}

// migrate runs one step: backup, marker, Apply, FORMAT (the commit),
// marker removed.
func migrate(dir string, f Format, m Migration) error {
	bdir := backupDir(dir, f, m.From)
	// A backup left by an earlier, undone attempt is the original: keep it.
	if _, err := os.Stat(filepath.Join(bdir, ".complete")); err != nil {
		if err := os.RemoveAll(bdir); err != nil {
			return err
		}
		if err := os.MkdirAll(bdir, 0o700); err != nil {
			return err
		}
		for _, p := range m.Changes {
			if err := copyTree(filepath.Join(dir, p), filepath.Join(bdir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("backing up %s: %w", p, err)
			}
		}
		if err := atomicfile.Write(filepath.Join(bdir, ".complete"), []byte(strings.Join(m.Changes, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, MigratingName), []byte(strconv.Itoa(m.From)+"\n"), 0o600); err != nil {
		return err
	}
	if err := m.Apply(dir); err != nil {
		if rerr := restore(dir, bdir, m.Changes); rerr != nil {
			return fmt.Errorf("%w; restoring the backup failed too: %v", err, rerr)
		}
		os.Remove(filepath.Join(dir, MigratingName))
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, FormatName), []byte(f.line(m.From+1)), 0o600); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dir, MigratingName))
}

// recoverMigration handles a MIGRATING marker a crash left: undone from
// the backup if FORMAT still says its version, merely removed if FORMAT
// says the step committed.
func recoverMigration(dir string, f Format, found int) error {
	b, err := readSmall(filepath.Join(dir, MigratingName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	from, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%s: %s is damaged (%q): restore the directory from %s by hand", dir, MigratingName, b, filepath.Join(dir, BackupDirName))
	}
	if found > from {
		return os.Remove(filepath.Join(dir, MigratingName))
	}
	bdir := backupDir(dir, f, from)
	listed, err := readSmallN(filepath.Join(bdir, ".complete"), 1<<16)
	if err != nil {
		return fmt.Errorf("%s: a migration from version %d was interrupted and its backup %s is incomplete: %w", dir, from, bdir, err)
	}
	changes := strings.Fields(string(listed))
	if err := restore(dir, bdir, changes); err != nil {
		return fmt.Errorf("%s: undoing an interrupted migration from version %d: %w", dir, from, err)
	}
	return os.Remove(filepath.Join(dir, MigratingName))
}

// restore puts every path of changes back as the backup holds it (and
// removes those the backup does not hold: they did not exist).
func restore(dir, bdir string, changes []string) error {
	for _, p := range changes {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return err
		}
		if err := copyTree(filepath.Join(bdir, p), filepath.Join(dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return syncDir(dir)
}

func readSmall(p string) ([]byte, error) { return readSmallN(p, maxFormatFile) }

func readSmallN(p string, n int64) ([]byte, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > n {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, n)
	}
	return b, nil
}

// copyTree copies a file or a directory tree, fsyncing every file.
func copyTree(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case st.IsDir():
		if err := os.MkdirAll(dst, st.Mode().Perm()); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		return syncDir(dst)
	case st.Mode().IsRegular():
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, st.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		return syncDir(filepath.Dir(dst))
	default:
		return fmt.Errorf("%s is neither a file nor a directory", src)
	}
}

func syncDir(p string) error {
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
