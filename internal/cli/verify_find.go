package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/verify"
)

// findVerifyJobs works out the chains PATHs belong to.
func findVerifyJobs(paths []string, cam *keys.Address, epoch int64) ([]*verifyJob, error) {
	byDir := map[string]*verifyJob{}
	var order []*verifyJob
	var loose *verifyJob
	chainJob := func(dir string, complete bool) (*verifyJob, error) {
		dir = filepath.Clean(dir)
		if j := byDir[dir]; j != nil {
			j.complete = j.complete || complete
			return j, nil
		}
		j := &verifyJob{dir: dir, complete: complete, clips: map[string]verify.Clip{}}
		if a, ep, st, ok := verify.ParseChainDir(dir); ok {
			j.camera, j.epoch, j.stream, j.hasEpoch = a, ep, st, true
			if cam != nil && *cam != a {
				return nil, usageError{fmt.Errorf("%s is the chain of camera %s, not --camera %s", dir, a.Hex(), cam.Hex())}
			}
			if epoch >= 0 && uint64(epoch) != ep {
				return nil, usageError{fmt.Errorf("%s is the chain of epoch %d, not --epoch %d", dir, ep, epoch)}
			}
		} else if err := j.idFromLog(cam, epoch); err != nil {
			return nil, err
		}
		byDir[dir] = j
		order = append(order, j)
		return j, nil
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if seg := filepath.Dir(filepath.Clean(p)); filepath.Base(seg) == verify.SegDirName && verify.IsChainDir(filepath.Dir(seg)) {
				j, err := chainJob(filepath.Dir(seg), false)
				if err != nil {
					return nil, err
				}
				j.addClip(p)
				continue
			}
			if loose == nil {
				if loose, err = looseJob(cam, epoch); err != nil {
					return nil, err
				}
			}
			loose.addClip(p)
			continue
		}
		switch {
		case verify.IsChainDir(p):
			if _, err := chainJob(p, true); err != nil {
				return nil, err
			}
		case filepath.Base(filepath.Clean(p)) == verify.SegDirName && verify.IsChainDir(filepath.Dir(filepath.Clean(p))):
			if _, err := chainJob(filepath.Dir(filepath.Clean(p)), true); err != nil {
				return nil, err
			}
		default:
			dirs, err := verify.FindChains(p)
			if err != nil {
				return nil, err
			}
			found := 0
			for _, d := range dirs {
				a, ep, _, _ := verify.ParseChainDir(d)
				if (cam != nil && *cam != a) || (epoch >= 0 && uint64(epoch) != ep) {
					continue
				}
				if _, err := chainJob(d, true); err != nil {
					return nil, err
				}
				found++
			}
			if found > 0 || len(dirs) > 0 {
				if found == 0 {
					return nil, fmt.Errorf("%s holds no chain of the camera and epoch asked for", p)
				}
				continue
			}
			// Not a store: a directory of clips (an export).
			clips, err := verify.ListClips(p)
			if err != nil {
				return nil, err
			}
			if len(clips) == 0 {
				return nil, fmt.Errorf("%s holds no chains and no clip files", p)
			}
			if loose == nil {
				if loose, err = looseJob(cam, epoch); err != nil {
					return nil, err
				}
			}
			for _, c := range clips {
				loose.addClip(c.Path)
			}
		}
	}
	if loose != nil {
		order = append(order, loose)
	}
	return order, nil
}

func looseJob(cam *keys.Address, epoch int64) (*verifyJob, error) {
	if cam == nil {
		return nil, usageError{errors.New("clips outside a chain directory (<camera>/<epoch>/seg/) need --camera ADDRESS (and --epoch, default the camera's current epoch)")}
	}
	j := &verifyJob{camera: *cam, clips: map[string]verify.Clip{}}
	if epoch >= 0 {
		j.epoch, j.hasEpoch = uint64(epoch), true
	}
	return j, nil
}

// idFromLog names a chain directory whose path does not (a copy): by the
// flags, else by its first record.
func (j *verifyJob) idFromLog(cam *keys.Address, epoch int64) error {
	if cam != nil {
		j.camera = *cam
		if epoch >= 0 {
			j.epoch, j.hasEpoch = uint64(epoch), true
		}
		return nil
	}
	l, err := verify.ReadLogFile(filepath.Join(j.dir, verify.LogName))
	if err != nil || len(l.Records) == 0 {
		return usageError{fmt.Errorf("cannot tell which camera %s is the chain of (its path is not <camera>/<epoch> and it has no records): pass --camera and --epoch", j.dir)}
	}
	j.camera, j.epoch, j.hasEpoch = l.Records[0].Camera, l.Records[0].Epoch, true
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
