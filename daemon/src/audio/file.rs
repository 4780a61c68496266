//! The file backend: the null backend's real-time clock, and the master bus of every block
//! goes through a lock-free ring to a writer thread that appends it to a 32-bit float WAV.
//! The file is finalised (header sizes written) when the daemon stops.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::null::{BlockSink, TimerThread};
use super::{AudioShared, Backend, EngineCell};
use crate::DaemonError;

struct RingSink {
    tx: rtrb::Producer<f32>,
    shared: Arc<AudioShared>,
}

impl BlockSink for RingSink {
    fn block(&mut self, left: &[f32], right: &[f32]) {
        let n = left.len().min(right.len());
        if self.tx.slots() < n * 2 {
            self.shared
                .file_dropped
                .fetch_add(n as u64, Ordering::Relaxed);
            return;
        }
        if let Ok(mut chunk) = self.tx.write_chunk_uninit(n * 2) {
            let (a, b) = chunk.as_mut_slices();
            let mut it = left[..n]
                .iter()
                .zip(&right[..n])
                .flat_map(|(l, r)| [*l, *r]);
            for s in a.iter_mut().chain(b.iter_mut()) {
                s.write(it.next().unwrap_or(0.0));
            }
            // SAFETY: every slot of both slices was written just above.
            unsafe { chunk.commit_all() };
        }
    }
}

/// The file backend.
pub(crate) struct FileBackend {
    timer: Option<TimerThread>,
    writer: Option<JoinHandle<Result<u64, String>>>,
    done: Arc<AtomicBool>,
    path: PathBuf,
    rate: u32,
    buffer: usize,
}

impl FileBackend {
    pub(crate) fn start(
        cell: Arc<EngineCell>,
        shared: Arc<AudioShared>,
        rate: u32,
        buffer: usize,
        path: &Path,
    ) -> Result<Self, DaemonError> {
        shared.rate.store(rate as u64, Ordering::Relaxed);
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DaemonError::backend("file", format!("{}: {e}", dir.display())))?;
        }
        let mut wav = hound::WavWriter::create(path, spec)
            .map_err(|e| DaemonError::backend("file", format!("{}: {e}", path.display())))?;
        // Four seconds of slack for the disk.
        let (tx, mut rx) = rtrb::RingBuffer::<f32>::new(rate as usize * 2 * 4);
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let writer = std::thread::Builder::new()
            .name("segue-wav-writer".into())
            .spawn(move || {
                let mut frames = 0u64;
                loop {
                    let finished = d.load(Ordering::Acquire);
                    let n = rx.slots();
                    if n > 0 {
                        let chunk = rx.read_chunk(n).map_err(|e| e.to_string())?;
                        let (a, b) = chunk.as_slices();
                        for s in a.iter().chain(b) {
                            wav.write_sample(*s).map_err(|e| e.to_string())?;
                        }
                        chunk.commit_all();
                        frames += n as u64 / 2;
                    }
                    if finished && rx.is_empty() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                wav.finalize().map_err(|e| e.to_string())?;
                Ok(frames)
            })
            .map_err(|e| DaemonError::backend("file", e))?;
        let sink = RingSink {
            tx,
            shared: shared.clone(),
        };
        let timer = TimerThread::spawn(cell, shared, rate, buffer, sink)?;
        Ok(Self {
            timer: Some(timer),
            writer: Some(writer),
            done,
            path: path.to_path_buf(),
            rate,
            buffer,
        })
    }
}

impl Backend for FileBackend {
    fn describe(&self) -> String {
        format!(
            "file backend: {} Hz, {} frames per block, real-time clock, master to {}",
            self.rate,
            self.buffer,
            self.path.display()
        )
    }

    fn stop(mut self: Box<Self>) {
        if let Some(t) = self.timer.take() {
            t.join();
        }
        self.done.store(true, Ordering::Release);
        if let Some(w) = self.writer.take() {
            match w.join() {
                Ok(Ok(frames)) => tracing::info!(
                    "wrote {} ({:.1} s)",
                    self.path.display(),
                    frames as f64 / self.rate as f64
                ),
                Ok(Err(e)) => tracing::error!("writing {}: {e}", self.path.display()),
                Err(_) => tracing::error!("the WAV writer thread panicked"),
            }
        }
    }
}
