//! One deck: transport, tempo, cues, loops, sync, key lock, stems and the channel strip
//! (trim, isolator EQ, filter). Each concern lives in its own file; this one holds the
//! deck's state and the per-block render that ties them together.
//!
//! Everything here runs on the audio thread: no allocation, locking or panicking. Buffers
//! are sized at construction for the engine's `max_block`.

mod cue;
mod eq;
mod filter;
mod keylock;
mod loops;
mod scratch;
mod stems;
mod sync;

use std::sync::Arc;

pub use eq::{EqBand, EQ_MAX_GAIN};
pub use keylock::KeylockQuality;
pub(crate) use sync::SyncRef;

use crate::command::{Position, TempoRange};
use crate::dsp::{db_to_gain, sane, Smoothed};
use crate::status::{DeckStatus, Meter, HOT_CUES};
use crate::track::{Beatgrid, Frame, StemAudio, TrackAudio, TrackRef};

/// Highest playback rate the engine renders (tempo + bend + sync correction).
pub(crate) const MAX_RATE: f64 = 4.0;
/// Length of the crossfade that hides a jump (seek, hot cue, cue return), frames at 48 kHz.
const JUMP_FADE_SECS: f64 = 0.003;
/// Play/pause fade, seconds.
const PLAY_FADE_SECS: f64 = 0.002;
/// Tempo assumed for beat arithmetic on a track without a beatgrid.
const DEFAULT_BPM: f64 = 120.0;

/// What a command on a deck may ask back of the engine.
pub(crate) enum Released {
    Nothing,
    Track(Arc<TrackAudio>),
    Grid(Arc<Beatgrid>),
    Stems(Arc<StemAudio>),
}

/// A deck gives back up to this many objects at once (track, grid, attached stems).
pub(crate) const MAX_RELEASED: usize = 3;

pub(crate) struct Deck {
    /// Loads and ejects so far (see `DeckStatus::loads`).
    loads: u32,
    rate_hz: f64,
    track: Option<Arc<TrackAudio>>,
    grid: Option<Arc<Beatgrid>>,
    /// Stems separated after the track was loaded ([`Deck::attach_stems`]); used when the
    /// track brought none of its own.
    attached: Option<Arc<StemAudio>>,

    // Transport.
    playing: bool,
    stopping: bool,
    /// Where the read cursor lands when a stop fade finishes (cue return).
    park: Option<f64>,
    at_end: bool,
    /// Read cursor into the track (frames). Equals the heard position unless the
    /// stretcher is engaged, where it runs ahead by the stretcher's latency.
    read_pos: f64,
    /// While the stretcher warms up: the heard position, played from the direct path.
    warm_heard: f64,
    play_gain: Smoothed,
    /// Crossfade from an old read position after a jump: (old position, frames left).
    jump_from: Option<(f64, u32)>,
    jump_fade: u32,

    // Tempo.
    tempo_percent: f32,
    tempo_range: TempoRange,
    bend_percent: f32,
    nudge_pending: f64,
    key_lock: bool,
    key_shift: f32,
    quantize: bool,
    pub(crate) sync: bool,
    sync_snap: bool,
    /// Playback rate used for the current segment.
    rate: f64,
    /// Platter touched: where the jog wheel has moved the record to (frames).
    scratch_target: Option<f64>,

    cue: cue::CueState,
    hot_cues: [Option<f64>; HOT_CUES],
    loops: loops::LoopState,
    keylock: keylock::KeyLock,

    // Channel strip.
    stems: stems::StemStrip,
    trim: Smoothed,
    eq: eq::Isolator,
    filter: filter::OneKnobFilter,
    pub(crate) volume: f32,
    pub(crate) pfl: bool,
    pub(crate) side: crate::command::CrossfaderSide,
    /// Fader × crossfader gain, smoothed.
    pub(crate) out_gain: Smoothed,

    /// This segment's output (post trim/EQ/filter, pre-fader).
    pub(crate) buf: Vec<Frame>,
    meter: Meter,
    meter_sq: f64,
    meter_frames: usize,
}

/// Cubic (Catmull-Rom) interpolation of four samples at fraction `t` of the way from
/// `y1` to `y2`; exact at `t == 0`.
#[inline]
fn hermite(y0: f32, y1: f32, y2: f32, y3: f32, t: f32) -> f32 {
    let c1 = 0.5 * (y2 - y0);
    let c2 = y0 - 2.5 * y1 + 2.0 * y2 - 0.5 * y3;
    let c3 = 0.5 * (y3 - y0) + 1.5 * (y1 - y2);
    ((c3 * t + c2) * t + c1) * t + y1
}

#[inline]
fn sample_at(data: &[Frame], pos: f64) -> Frame {
    let i = pos.floor();
    let t = (pos - i) as f32;
    let i = i as i64;
    let n = data.len() as i64;
    let get = |k: i64| -> Frame {
        if k >= 0 && k < n {
            data[k as usize]
        } else {
            [0.0; 2]
        }
    };
    if i < -2 || i > n {
        return [0.0; 2];
    }
    let (a, b) = (get(i), get(i + 1));
    if t == 0.0 {
        return a;
    }
    let (z, c) = (get(i - 1), get(i + 2));
    [
        hermite(z[0], a[0], b[0], c[0], t),
        hermite(z[1], a[1], b[1], c[1], t),
    ]
}

impl Deck {
    pub fn new(rate_hz: u32, max_block: usize, quality: KeylockQuality) -> Self {
        let r = rate_hz as f64;
        let ramp = |secs: f64| ((r * secs) as u32).max(1);
        Self {
            rate_hz: r,
            loads: 0,
            track: None,
            grid: None,
            attached: None,
            playing: false,
            stopping: false,
            park: None,
            at_end: false,
            read_pos: 0.0,
            warm_heard: 0.0,
            play_gain: Smoothed::new(0.0, ramp(PLAY_FADE_SECS)),
            jump_from: None,
            jump_fade: ramp(JUMP_FADE_SECS),
            tempo_percent: 0.0,
            tempo_range: TempoRange::default(),
            bend_percent: 0.0,
            nudge_pending: 0.0,
            key_lock: false,
            key_shift: 0.0,
            quantize: true,
            sync: false,
            sync_snap: false,
            rate: 1.0,
            scratch_target: None,
            cue: cue::CueState::default(),
            hot_cues: [None; HOT_CUES],
            loops: loops::LoopState::default(),
            keylock: keylock::KeyLock::new(rate_hz, max_block, quality),
            stems: stems::StemStrip::new(r),
            trim: Smoothed::new(1.0, ramp(0.01)),
            eq: eq::Isolator::new(r),
            filter: filter::OneKnobFilter::new(r),
            volume: 1.0,
            pfl: false,
            side: crate::command::CrossfaderSide::Thru,
            out_gain: Smoothed::new(1.0, ramp(0.005)),
            buf: vec![[0.0; 2]; max_block],
            meter: Meter::default(),
            meter_sq: 0.0,
            meter_frames: 0,
        }
    }

    // ----- queries -------------------------------------------------------------------

    pub fn is_playing(&self) -> bool {
        self.playing
    }

    pub fn has_grid(&self) -> bool {
        self.grid.is_some() && self.track.is_some()
    }

    fn frames(&self) -> f64 {
        self.track.as_ref().map_or(0.0, |t| t.frames() as f64)
    }

    /// The position heard now (frames).
    pub fn position(&self) -> f64 {
        if self.keylock.warming() {
            self.warm_heard
        } else if self.keylock.engaged() {
            let p = self.read_pos - self.keylock.lead(self.rate);
            self.loops.unwrap_heard(p)
        } else {
            self.read_pos
        }
    }

    /// Fractional beat index of a track position.
    pub fn beat_at(&self, pos: f64) -> f64 {
        match &self.grid {
            Some(g) => g.beat_at(pos),
            None => pos * DEFAULT_BPM / (60.0 * self.rate_hz),
        }
    }

    /// Where `beat` falls in a cycle of `q` beats counted from the grid's downbeat (from
    /// beat 0 without a grid): 0..q.
    pub fn phase_in(&self, beat: f64, q: f64) -> f64 {
        let first = self
            .grid
            .as_ref()
            .map_or(0.0, |g| g.downbeat_index() as f64);
        (beat - first).rem_euclid(q)
    }

    /// Track position of a fractional beat index.
    pub fn frame_at_beat(&self, beat: f64) -> f64 {
        match &self.grid {
            Some(g) => g.frame_at(beat),
            None => beat * 60.0 * self.rate_hz / DEFAULT_BPM,
        }
    }

    /// The track's own tempo at the position (0 without a grid).
    pub fn native_bpm(&self) -> f64 {
        match (&self.grid, &self.track) {
            (Some(g), Some(_)) => g.bpm_at(self.position(), self.rate_hz as u32),
            _ => 0.0,
        }
    }

    /// Tempo heard (BPM, 0 without a grid) and the fractional beat index heard now: the
    /// FX units' clock.
    pub fn tempo_and_beat(&self) -> (f64, f64) {
        (self.native_bpm() * self.rate, self.beat_at(self.position()))
    }

    /// Rate from the deck's own controls (tempo fader, bend).
    fn manual_rate(&self) -> f64 {
        (1.0 + (self.tempo_percent as f64 + self.bend_percent as f64) / 100.0).clamp(0.0, MAX_RATE)
    }

    fn resolve(&self, at: Position) -> Option<f64> {
        let f = match at {
            Position::Frames(f) => f,
            Position::Seconds(s) => s * self.rate_hz,
            Position::Beats(b) => self.frame_at_beat(b),
        };
        (f.is_finite() && self.track.is_some()).then(|| f.clamp(0.0, self.frames()))
    }

    /// Snap to the nearest beat when quantize is on and there is a grid.
    fn snap(&self, pos: f64) -> f64 {
        if self.quantize && self.grid.is_some() {
            self.frame_at_beat(self.beat_at(pos).round())
        } else {
            pos
        }
    }

    // ----- transport -----------------------------------------------------------------

    pub fn load(&mut self, audio: Arc<TrackAudio>) -> [Released; MAX_RELEASED] {
        let old_track = self
            .track
            .replace(audio)
            .map_or(Released::Nothing, Released::Track);
        self.unload_rest(old_track)
    }

    pub fn eject(&mut self) -> [Released; MAX_RELEASED] {
        let old_track = self.track.take().map_or(Released::Nothing, Released::Track);
        self.unload_rest(old_track)
    }

    fn unload_rest(&mut self, old_track: Released) -> [Released; MAX_RELEASED] {
        let old_grid = self.grid.take().map_or(Released::Nothing, Released::Grid);
        let old_stems = self
            .attached
            .take()
            .map_or(Released::Nothing, Released::Stems);
        self.reset_transport();
        self.loads = self.loads.wrapping_add(1);
        [old_track, old_grid, old_stems]
    }

    /// Give the deck's track the stems separated from it, if the deck still holds `track`
    /// (same `Arc`, same length) and it has no stems yet. Playback goes on without a
    /// break: the stems start at unity, which is the mix, and ramp to the stem settings.
    /// Returns what to hand back (the stems when refused, or stems attached before) and
    /// whether they were taken.
    pub fn attach_stems(&mut self, track: TrackRef, stems: Arc<StemAudio>) -> (Released, bool) {
        let fits = self.track.as_ref().is_some_and(|t| {
            TrackRef::of(t) == track
                && t.stems.is_none()
                && stems.iter().all(|s| s.len() == t.frames())
        });
        if !fits {
            return (Released::Stems(stems), false);
        }
        self.stems.arrive();
        let old = self
            .attached
            .replace(stems)
            .map_or(Released::Nothing, Released::Stems);
        (old, true)
    }

    /// Whether the deck's track plays from stems (its own or attached).
    fn has_stems(&self) -> bool {
        self.track
            .as_ref()
            .is_some_and(|t| t.stems.is_some() || self.attached.is_some())
    }

    /// Frames one beat lasts as heard now (grid and rate; 120 BPM without a grid).
    pub fn heard_beat_frames(&self) -> f64 {
        let beat = match &self.grid {
            Some(g) if self.track.is_some() => g.beat_length_at(self.position()),
            _ => 60.0 * self.rate_hz / DEFAULT_BPM,
        };
        beat / self.rate.max(0.25)
    }

    fn reset_transport(&mut self) {
        self.playing = false;
        self.stopping = false;
        self.park = None;
        self.at_end = false;
        self.read_pos = 0.0;
        self.play_gain.reset(0.0);
        self.jump_from = None;
        self.cue = cue::CueState::default();
        self.hot_cues = [None; HOT_CUES];
        self.loops = loops::LoopState::default();
        self.keylock.disengage();
        self.sync_snap = self.sync;
    }

    pub fn set_grid(&mut self, grid: Option<Arc<Beatgrid>>) -> Released {
        let old = std::mem::replace(&mut self.grid, grid);
        self.sync_snap = self.sync;
        old.map_or(Released::Nothing, Released::Grid)
    }

    pub fn play(&mut self, on: bool) {
        if self.track.is_none() {
            return;
        }
        if on {
            self.cue.previewing = false;
            if !self.playing || self.stopping {
                if self.at_end || self.position() >= self.frames() {
                    return;
                }
                self.playing = true;
                self.stopping = false;
                self.park = None;
                self.play_gain.set(1.0);
                self.sync_snap = self.sync;
            }
        } else if self.playing {
            self.stop();
        }
    }

    /// Fade out, then pause.
    fn stop(&mut self) {
        self.stopping = true;
        self.play_gain.set(0.0);
    }

    /// Move the playhead (crossfaded when audible).
    pub fn jump(&mut self, to: f64) {
        if self.track.is_none() || !to.is_finite() {
            return;
        }
        let to = to.clamp(0.0, self.frames());
        self.at_end = false;
        if self.keylock.engaged() {
            self.read_pos = to;
            self.keylock.reseed_pending();
            return;
        }
        if self.playing && self.play_gain.value() > 0.0 {
            self.jump_from = Some((self.read_pos, self.jump_fade));
        }
        self.read_pos = to;
    }

    pub fn seek(&mut self, to: Position) {
        if let Some(f) = self.resolve(to) {
            self.jump(f);
        }
    }

    pub fn nudge(&mut self, ms: f32) {
        self.nudge_pending += sane(ms, -500.0, 500.0, 0.0) as f64 * self.rate_hz / 1000.0;
    }

    // ----- tempo & pitch -------------------------------------------------------------

    pub fn set_tempo(&mut self, percent: f32) {
        let r = self.tempo_range.percent();
        self.tempo_percent = sane(percent, -r, r, self.tempo_percent);
    }

    pub fn set_tempo_range(&mut self, range: TempoRange) {
        self.tempo_range = range;
        self.set_tempo(self.tempo_percent);
    }

    pub fn set_bend(&mut self, percent: f32) {
        self.bend_percent = sane(percent, -10.0, 10.0, 0.0);
    }

    pub fn set_key_lock(&mut self, on: bool) {
        self.key_lock = on;
    }

    pub fn set_key_shift(&mut self, semitones: f32) {
        self.key_shift = sane(semitones, -12.0, 12.0, 0.0);
    }

    pub fn set_sync(&mut self, on: bool) {
        self.sync = on;
        self.sync_snap = on;
    }

    pub fn set_quantize(&mut self, on: bool) {
        self.quantize = on;
    }

    // ----- channel strip -------------------------------------------------------------

    pub fn set_trim(&mut self, db: f32) {
        self.trim.set(db_to_gain(sane(db, -24.0, 12.0, 0.0)));
    }

    pub fn set_eq(&mut self, band: EqBand, gain: f32) {
        self.eq.set_gain(band, sane(gain, 0.0, EQ_MAX_GAIN, 1.0));
    }

    pub fn set_filter(&mut self, amount: f32) {
        self.filter.set(sane(amount, -1.0, 1.0, 0.0));
    }

    pub fn set_stem_gain(&mut self, stem: usize, gain: f32) {
        self.stems.set_gain(stem, gain);
    }

    pub fn set_stem_mute(&mut self, stem: usize, muted: bool) {
        self.stems.set_mute(stem, muted);
    }

    pub fn set_stem_filter(&mut self, stem: usize, amount: f32) {
        self.stems.set_filter(stem, amount);
    }

    /// Fade a stem to `gain` over `frames` (one side of a stem swap).
    pub fn stem_fade(&mut self, stem: usize, gain: f32, frames: u32) {
        self.stems.fade(stem, gain, frames);
    }

    pub fn set_volume(&mut self, level: f32) {
        self.volume = sane(level, 0.0, 1.0, self.volume);
    }

    // ----- rendering -----------------------------------------------------------------

    /// Choose this segment's rate: the deck's own, or the one sync gives it.
    pub fn update_rate(&mut self, leader: Option<SyncRef>) {
        self.rate_following(leader.filter(|_| self.sync));
    }

    /// Follow an outside timeline (Ableton Link) whatever the sync switch; `snap` jumps to
    /// its phase first (as sync does when it engages).
    pub fn follow_external(&mut self, clock: SyncRef, snap: bool) {
        self.sync_snap |= snap;
        self.rate_following(Some(clock));
    }

    fn rate_following(&mut self, leader: Option<SyncRef>) {
        if self.scratching() {
            // The platter drives the rate (set per segment in `render`).
            return;
        }
        let manual = self.manual_rate();
        self.rate = match (leader, self.grid.is_some()) {
            (Some(l), true) if self.track.is_some() => {
                let (rate, snap) = sync::follow(self, l, self.sync_snap && self.playing);
                if let Some(offset) = snap {
                    let p = self.position();
                    self.jump(p + offset);
                }
                self.sync_snap = false;
                rate
            }
            _ => manual,
        };
        if self.nudge_pending != 0.0 {
            let p = self.position();
            self.jump(p + self.nudge_pending);
            self.nudge_pending = 0.0;
        }
    }

    /// What a follower needs to know of this deck if it leads.
    pub fn sync_ref(&self) -> Option<SyncRef> {
        if !self.has_grid() {
            return None;
        }
        let pos = self.position();
        Some(SyncRef {
            bpm: self.native_bpm() * self.rate,
            beat: self.beat_at(pos),
            playing: self.playing && !self.stopping,
            quantum: 1.0,
            resnap_secs: 0.0,
        })
    }

    /// Render `n` frames into `self.buf[..n]` (post trim/EQ/filter, pre-fader).
    ///
    /// `engages` is how many decks may still engage their stretcher in this block (the
    /// engine gives one per block): a deck that wants to engage when none is left plays
    /// this block on the direct path and engages in a later one, so that several decks
    /// engaging at once (a sync start, four pitch faders moved together) never stack their
    /// start-up in one block.
    pub fn render(&mut self, n: usize, engages: &mut u32) {
        let n = n.min(self.buf.len());
        let active = self.track.is_some()
            && (self.playing || !self.play_gain.is_settled() || self.scratching());
        if !active {
            self.buf[..n].fill([0.0; 2]);
        } else if self.scratching() {
            // The platter moves the record: no stretcher, no play/pause fade while paused.
            self.rate = self.scratch_rate(n);
            if self.keylock.engaged() {
                self.read_pos = self.position();
                self.keylock.disengage();
            }
            let mut buf = std::mem::take(&mut self.buf);
            self.pull(&mut buf[..n], self.rate);
            self.buf = buf;
            self.read_pos = self.read_pos.max(0.0);
            if self.playing {
                self.apply_play_gain(n);
            }
        } else {
            let mut stretch = self
                .keylock
                .wanted(self.key_lock, self.rate, self.key_shift);
            if stretch && !self.keylock.engaged() {
                if *engages == 0 {
                    stretch = false; // engage in a later block
                } else {
                    *engages -= 1;
                }
            }
            if stretch {
                self.render_stretched(n);
            } else {
                if self.keylock.engaged() {
                    // Leaving the stretcher: continue from the heard position.
                    self.read_pos = self.position();
                    self.keylock.disengage();
                }
                let mut buf = std::mem::take(&mut self.buf);
                self.pull(&mut buf[..n], self.rate);
                self.buf = buf;
            }
            self.apply_play_gain(n);
            if !self.playing {
                self.play_gain.reset(0.0);
            }
        }
        let mut buf = std::mem::take(&mut self.buf);
        let out = &mut buf[..n];
        for f in out.iter_mut() {
            let g = self.trim.next();
            f[0] *= g;
            f[1] *= g;
        }
        self.eq.process(out);
        self.filter.process(out);
        self.measure(out);
        self.buf = buf;
    }

    fn render_stretched(&mut self, n: usize) {
        if !self.keylock.engaged() || self.keylock.needs_reseed() {
            // Engaged, this is a reseed: a jump put `read_pos` where to go.
            let heard = if self.keylock.engaged() {
                self.read_pos
            } else {
                self.position()
            };
            let lead = self.keylock.lead(self.rate);
            self.keylock
                .engage(self.rate, self.key_lock, self.key_shift);
            let mut input = self.keylock.take_input();
            // Pre-roll (input history) so that the stretcher reads on from heard + lead; then
            // it warms up over the next blocks while the deck is heard from the direct path,
            // and after the warm-up what comes out of it is what is heard.
            let pre = self.keylock.preroll_frames().min(input.len() / 2);
            // Whole frames: the stretcher reads at rate 1, so every read is then exact
            // (no interpolation needed).
            self.read_pos = (heard + lead - pre as f64).round();
            self.pull_raw(&mut input, pre, 1.0);
            self.keylock.seek(&input[..2 * pre], self.rate);
            self.keylock.give_input(input);
            self.warm_heard = heard;
        }
        self.keylock
            .configure(self.rate, self.key_lock, self.key_shift);
        let m = self.keylock.input_frames(n, self.rate);
        let mut input = self.keylock.take_input();
        self.pull_raw(&mut input, m, 1.0);
        let mut out = std::mem::take(&mut self.buf);
        if self.keylock.warming() {
            // Warm-up block: the deck is heard from the direct path (varispeed for these few
            // milliseconds), its own cursor advancing at the same rate as the stretcher's
            // input; the stretcher's output is crossfaded in at the end of the warm-up.
            let ahead = std::mem::replace(&mut self.read_pos, self.warm_heard);
            self.pull(&mut out[..n], self.rate);
            self.warm_heard = std::mem::replace(&mut self.read_pos, ahead);
            self.keylock.warm_up(&input[..2 * m], &mut out[..n]);
        } else {
            self.keylock.process(&input[..2 * m], &mut out[..n]);
        }
        self.keylock.give_input(input);
        self.buf = out;
        // The heard position must not run past the end.
        if self.position() >= self.frames() {
            self.finish();
        }
    }

    /// Read `m` frames at `rate` into an interleaved buffer.
    fn pull_raw(&mut self, inter: &mut [f32], m: usize, rate: f64) {
        let mut tmp = [[0.0f32; 2]; 64];
        let mut done = 0;
        while done < m {
            let k = (m - done).min(64);
            self.pull(&mut tmp[..k], rate);
            for (j, f) in tmp[..k].iter().enumerate() {
                inter[2 * (done + j)] = f[0];
                inter[2 * (done + j) + 1] = f[1];
            }
            done += k;
        }
    }

    /// Read frames from the track at `rate`, advancing the read cursor through loops,
    /// with stems and jump crossfades. Stops the deck at the end of the track.
    fn pull(&mut self, out: &mut [Frame], rate: f64) {
        // Reference counts only: the deck keeps its own, so these are never the last.
        let Some(track) = self.track.clone() else {
            out.fill([0.0; 2]);
            return;
        };
        let attached = self.attached.clone();
        let stems: Option<&StemAudio> = track.stems.as_deref().or(attached.as_deref());
        let stems = match stems {
            Some(s) if self.stems.begin() => Some(s),
            _ => None,
        };
        let end = track.frames() as f64;
        let blend =
            |o: Frame, s: Frame, w: f32| [o[0] + (s[0] - o[0]) * w, o[1] + (s[1] - o[1]) * w];
        for f in out.iter_mut() {
            let fade = self
                .jump_from
                .map(|(old, left)| (old, 1.0 - left as f32 / (self.jump_fade + 1) as f32));
            *f = match stems {
                Some(st) => {
                    let mut v: [Frame; 4] =
                        std::array::from_fn(|k| sample_at(&st[k], self.read_pos));
                    if let Some((old, w)) = fade {
                        for (k, x) in v.iter_mut().enumerate() {
                            *x = blend(sample_at(&st[k], old), *x, w);
                        }
                    }
                    self.stems.mix(v)
                }
                None => {
                    self.stems.skip();
                    let s = sample_at(&track.mix, self.read_pos);
                    match fade {
                        Some((old, w)) => blend(sample_at(&track.mix, old), s, w),
                        None => s,
                    }
                }
            };
            if let Some((old, left)) = self.jump_from {
                self.jump_from = (left > 1).then_some((old + rate, left - 1));
            }
            self.read_pos = self.loops.advance(self.read_pos, rate);
        }
        if !self.keylock.engaged() && self.read_pos >= end {
            self.finish();
        }
    }

    /// Playback reached the end of the track.
    fn finish(&mut self) {
        self.playing = false;
        self.stopping = false;
        self.at_end = true;
        self.keylock.disengage();
        self.read_pos = self.frames();
    }

    fn apply_play_gain(&mut self, n: usize) {
        for f in &mut self.buf[..n] {
            let g = self.play_gain.next();
            f[0] *= g;
            f[1] *= g;
        }
        if self.stopping && self.play_gain.is_settled() {
            self.playing = false;
            self.stopping = false;
            self.keylock.disengage();
            self.jump_from = None;
            if let Some(p) = self.park.take() {
                self.read_pos = p;
            }
        }
    }

    fn measure(&mut self, out: &[Frame]) {
        for f in out {
            let p = f[0].abs().max(f[1].abs());
            if p > self.meter.peak {
                self.meter.peak = p;
            }
            self.meter_sq += 0.5 * (f[0] as f64 * f[0] as f64 + f[1] as f64 * f[1] as f64);
        }
        self.meter_frames += out.len();
    }

    /// Status of this deck; resets the meter for the next block.
    pub fn status(&mut self, leader: bool) -> DeckStatus {
        let pos = self.position();
        let beat = self.beat_at(pos);
        let (beat_in_bar, bar) = match &self.grid {
            Some(g) => (g.bar_phase(beat).floor() as u32, g.bar_at(beat) as i64),
            None => (
                (beat.rem_euclid(4.0)).floor() as u32,
                (beat / 4.0).floor() as i64,
            ),
        };
        let native = self.native_bpm();
        if self.meter_frames > 0 {
            self.meter.rms = (self.meter_sq / self.meter_frames as f64).sqrt() as f32;
        }
        let meter = self.meter;
        self.meter = Meter::default();
        self.meter_sq = 0.0;
        self.meter_frames = 0;
        DeckStatus {
            loaded: self.track.is_some(),
            loads: self.loads,
            has_stems: self.has_stems(),
            has_grid: self.has_grid(),
            playing: self.playing,
            previewing: self.cue.previewing,
            position: pos,
            position_secs: pos / self.rate_hz,
            duration_secs: self.frames() / self.rate_hz,
            beat,
            beat_in_bar,
            bar,
            native_bpm: native,
            bpm: native * self.rate,
            rate: self.rate,
            tempo_percent: self.tempo_percent,
            key_lock: self.key_lock,
            key_shift: self.key_shift,
            stretching: self.keylock.engaged(),
            sync: self.sync,
            sync_leader: leader,
            looping: self.loops.active(),
            rolling: self.loops.rolling(),
            loop_start: self.loops.start,
            loop_end: self.loops.end,
            cue_point: self.cue.point,
            hot_cues: self.hot_cues,
            volume: self.volume,
            eq: [
                self.eq.gain(EqBand::Low),
                self.eq.gain(EqBand::Mid),
                self.eq.gain(EqBand::High),
            ],
            filter: self.filter.amount(),
            stems: self.stems.gains(),
            stem_filters: self.stems.filters(),
            pfl: self.pfl,
            meter,
            at_end: self.at_end,
            scratching: self.scratching(),
        }
    }
}
