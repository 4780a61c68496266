//! What the ONNX separator says when the runtime, the model or the device is not usable:
//! errors, never panics. One test, in order: the bad runtime files must be tried before a
//! good one is loaded (ONNX Runtime stays loaded for the process).

mod common;

use std::path::PathBuf;

use segue_separate::{Device, OnnxOptions, OnnxSeparator, SeparateError, Separator};

fn options(device: Device, runtime: PathBuf) -> OnnxOptions {
    OnnxOptions {
        device,
        runtime: Some(runtime),
        threads: Some(1),
    }
}

#[test]
fn unusable_runtime_model_or_device_are_errors() {
    let model = common::fixture("tiny_sep.onnx");
    let dir = std::env::temp_dir().join(format!("segue-onnx-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let missing = dir.join("libonnxruntime.so.1.99.0");
    let err = OnnxSeparator::new(&model, &options(Device::Cpu, missing)).unwrap_err();
    assert!(matches!(err, SeparateError::Runtime(_)), "{err}");
    assert!(err.to_string().contains("no such file"), "{err}");

    let garbage = dir.join("libonnxruntime.so");
    std::fs::write(&garbage, b"not a shared library").unwrap();
    let err = OnnxSeparator::new(&model, &options(Device::Cpu, garbage)).unwrap_err();
    assert!(matches!(err, SeparateError::Runtime(_)), "{err}");
    assert!(err.to_string().contains("cannot load"), "{err}");

    let Some(runtime) = common::runtime() else {
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    };
    let err = OnnxSeparator::new(
        &dir.join("none.onnx"),
        &options(Device::Cpu, runtime.clone()),
    )
    .unwrap_err();
    assert!(matches!(err, SeparateError::Model { .. }), "{err}");

    let not_a_model = dir.join("bad.onnx");
    std::fs::write(&not_a_model, b"\x08\x07garbage").unwrap();
    let err = OnnxSeparator::new(&not_a_model, &options(Device::Cpu, runtime.clone())).unwrap_err();
    assert!(matches!(err, SeparateError::Model { .. }), "{err}");

    // The PyPI `onnxruntime` wheel has no CUDA execution provider, and this machine no GPU:
    // cuda is an error, auto runs on the CPU and says why.
    match OnnxSeparator::new(&model, &options(Device::Cuda, runtime.clone())) {
        Err(SeparateError::Device(why)) => eprintln!("--device cuda: {why}"),
        Err(other) => panic!("expected a device error, got {other}"),
        Ok(sep) => eprintln!("CUDA usable here: running on {}", sep.provider()),
    }
    let mut sep = OnnxSeparator::new(&model, &options(Device::Auto, runtime)).unwrap();
    eprintln!("--device auto: {} ({:?})", sep.provider(), sep.note());
    if sep.provider() == "cpu" {
        assert!(sep.note().is_some());
    }
    let mix = vec![[0.1f32, -0.1]; 1000];
    assert!(segue_separate::sums_to_mix(
        &mix,
        &sep.separate(&mix, 44_100).unwrap()
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
