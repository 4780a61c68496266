//! The ALSA backend, through cpal's ALSA host: one stereo f32 output stream carrying the
//! master bus (the cue bus is rendered and discarded: a second device for headphones is
//! not supported yet). cpal hands interleaved buffers; the callback de-interleaves through
//! preallocated scratch buffers.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use segue_engine::Outputs;

use super::{now_ns, AudioShared, Backend, Callback, EngineCell};
use crate::DaemonError;

/// The ALSA backend.
pub(crate) struct AlsaBackend {
    stream: cpal::Stream,
    name: String,
    rate: u32,
    buffer: usize,
}

impl AlsaBackend {
    pub(crate) fn start(
        cell: Arc<EngineCell>,
        shared: Arc<AudioShared>,
        rate: u32,
        buffer: usize,
        device: &str,
    ) -> Result<Self, DaemonError> {
        let err = |e: &dyn std::fmt::Display| DaemonError::backend("alsa", e.to_string());
        let host = cpal::default_host();
        let dev = if device == "default" {
            host.default_output_device()
        } else {
            host.output_devices().map_err(|e| err(&e))?.find(|d| {
                d.description()
                    .map(|desc| desc.name() == device)
                    .unwrap_or(false)
                    || d.id()
                        .map(|id| {
                            // cpal names ALSA devices `alsa:<pcm>`: "hw:0" and "alsa:hw:0"
                            // both find the same one.
                            let id = id.to_string();
                            id == device || id.strip_prefix("alsa:") == Some(device)
                        })
                        .unwrap_or(false)
            })
        }
        .ok_or_else(|| err(&format!("no ALSA output device {device:?}")))?;
        let name = dev
            .description()
            .map(|d| d.name().to_string())
            .unwrap_or_else(|_| device.to_string());
        shared.rate.store(rate as u64, Ordering::Relaxed);
        let config = cpal::StreamConfig {
            channels: 2,
            sample_rate: rate,
            buffer_size: cpal::BufferSize::Fixed(buffer as u32),
        };
        let mut bufs: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0.0; 8192]);
        let mut cb = Callback {
            cell,
            shared: shared.clone(),
        };
        let errors = shared.clone();
        let stream = dev
            .build_output_stream(
                config,
                move |data: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    let start = now_ns();
                    for chunk in data.chunks_mut(2 * 8192) {
                        let n = chunk.len() / 2;
                        let [ml, mr, cl, cr] = &mut bufs;
                        let mut out = Outputs {
                            master: [&mut ml[..n], &mut mr[..n]],
                            cue: [&mut cl[..n], &mut cr[..n]],
                        };
                        cb.render(&mut out, n, start, buffer as u32);
                        for (i, f) in chunk.chunks_exact_mut(2).enumerate() {
                            f[0] = ml[i];
                            f[1] = mr[i];
                        }
                    }
                },
                // Counted only: this may run on the audio thread (the main loop reports).
                move |_e| {
                    errors.xruns.fetch_add(1, Ordering::Relaxed);
                },
                None,
            )
            .map_err(|e| err(&e))?;
        stream.play().map_err(|e| err(&e))?;
        shared.running.store(true, Ordering::Release);
        Ok(Self {
            stream,
            name,
            rate,
            buffer,
        })
    }
}

impl Backend for AlsaBackend {
    fn describe(&self) -> String {
        format!(
            "ALSA backend (cpal): device {:?}, {} Hz, {} frames per buffer",
            self.name, self.rate, self.buffer
        )
    }

    fn stop(self: Box<Self>) {
        let _ = self.stream.pause();
        drop(self.stream);
    }
}
