//! A minimal VST3 host with hand-written COM vtables (no VST3 binding crate): load the
//! bundle's `.so`, get the factory, instantiate the component and its audio processor, set
//! up processing, process blocks, terminate. Interface ids use the non-Windows byte order of
//! the VST3 SDK (`INLINE_UID` words big-endian).

#![allow(dead_code)]

use std::ffi::{c_char, c_void, CStr};
use std::path::Path;

type TResult = i32;
const K_RESULT_OK: TResult = 0;

const ICOMPONENT_IID: [u8; 16] = [
    0xE8, 0x31, 0xFF, 0x31, 0xF2, 0xD5, 0x43, 0x01, 0x92, 0x8E, 0xBB, 0xEE, 0x25, 0x69, 0x78, 0x02,
];
const IAUDIO_PROCESSOR_IID: [u8; 16] = [
    0x42, 0x04, 0x3F, 0x99, 0xB7, 0xDA, 0x45, 0x3C, 0xA5, 0x69, 0xE7, 0x9D, 0x9A, 0xAE, 0xC3, 0x3D,
];

#[repr(C)]
struct FUnknownVtbl {
    query_interface:
        unsafe extern "system" fn(*mut c_void, *const [u8; 16], *mut *mut c_void) -> TResult,
    add_ref: unsafe extern "system" fn(*mut c_void) -> u32,
    release: unsafe extern "system" fn(*mut c_void) -> u32,
}

#[repr(C)]
struct PClassInfo {
    cid: [u8; 16],
    cardinality: i32,
    category: [c_char; 32],
    name: [c_char; 64],
}

#[repr(C)]
struct IPluginFactoryVtbl {
    unknown: FUnknownVtbl,
    get_factory_info: unsafe extern "system" fn(*mut c_void, *mut c_void) -> TResult,
    count_classes: unsafe extern "system" fn(*mut c_void) -> i32,
    get_class_info: unsafe extern "system" fn(*mut c_void, i32, *mut PClassInfo) -> TResult,
    create_instance: unsafe extern "system" fn(
        *mut c_void,
        *const c_char,
        *const c_char,
        *mut *mut c_void,
    ) -> TResult,
}

#[repr(C)]
struct IComponentVtbl {
    unknown: FUnknownVtbl,
    initialize: unsafe extern "system" fn(*mut c_void, *mut c_void) -> TResult,
    terminate: unsafe extern "system" fn(*mut c_void) -> TResult,
    get_controller_class_id: unsafe extern "system" fn(*mut c_void, *mut [u8; 16]) -> TResult,
    set_io_mode: unsafe extern "system" fn(*mut c_void, i32) -> TResult,
    get_bus_count: unsafe extern "system" fn(*mut c_void, i32, i32) -> i32,
    get_bus_info: unsafe extern "system" fn(*mut c_void, i32, i32, i32, *mut c_void) -> TResult,
    get_routing_info: unsafe extern "system" fn(*mut c_void, *mut c_void, *mut c_void) -> TResult,
    activate_bus: unsafe extern "system" fn(*mut c_void, i32, i32, i32, u8) -> TResult,
    set_active: unsafe extern "system" fn(*mut c_void, u8) -> TResult,
    set_state: unsafe extern "system" fn(*mut c_void, *mut c_void) -> TResult,
    get_state: unsafe extern "system" fn(*mut c_void, *mut c_void) -> TResult,
}

#[repr(C)]
struct ProcessSetup {
    process_mode: i32,
    symbolic_sample_size: i32,
    max_samples_per_block: i32,
    sample_rate: f64,
}

#[repr(C)]
struct AudioBusBuffers {
    num_channels: i32,
    silence_flags: u64,
    channel_buffers_32: *mut *mut f32,
}

#[repr(C)]
struct ProcessData {
    process_mode: i32,
    symbolic_sample_size: i32,
    num_samples: i32,
    num_inputs: i32,
    num_outputs: i32,
    inputs: *mut AudioBusBuffers,
    outputs: *mut AudioBusBuffers,
    input_parameter_changes: *mut c_void,
    output_parameter_changes: *mut c_void,
    input_events: *mut c_void,
    output_events: *mut c_void,
    process_context: *mut c_void,
}

#[repr(C)]
struct IAudioProcessorVtbl {
    unknown: FUnknownVtbl,
    set_bus_arrangements:
        unsafe extern "system" fn(*mut c_void, *mut u64, i32, *mut u64, i32) -> TResult,
    get_bus_arrangement: unsafe extern "system" fn(*mut c_void, i32, i32, *mut u64) -> TResult,
    can_process_sample_size: unsafe extern "system" fn(*mut c_void, i32) -> TResult,
    get_latency_samples: unsafe extern "system" fn(*mut c_void) -> u32,
    setup_processing: unsafe extern "system" fn(*mut c_void, *mut ProcessSetup) -> TResult,
    set_processing: unsafe extern "system" fn(*mut c_void, u8) -> TResult,
    process: unsafe extern "system" fn(*mut c_void, *mut ProcessData) -> TResult,
    get_tail_samples: unsafe extern "system" fn(*mut c_void) -> u32,
}

/// What the load test saw.
pub struct Report {
    /// Name of the audio module class.
    pub class_name: String,
    /// Blocks processed successfully.
    pub blocks: usize,
    /// Every output sample was finite.
    pub finite: bool,
}

unsafe fn vtbl<T>(obj: *mut c_void) -> &'static T {
    // SAFETY: a COM object starts with a pointer to its vtable.
    unsafe { &**(obj as *mut *const T) }
}

/// Load the VST3 binary at `so`, instantiate its audio module and process `blocks` blocks.
pub fn load_and_process(so: &Path, rate: f64, block: usize, blocks: usize) -> Report {
    // SAFETY: our own plugin binary.
    let lib = unsafe { libloading::Library::new(so) }.expect("dlopen the VST3 binary");
    // SAFETY: every call below follows the VST3 interface contracts; all pointers passed are
    // live for the call and objects are released before the library is dropped.
    unsafe {
        if let Ok(init) = lib.get::<unsafe extern "C" fn(*mut c_void) -> bool>(b"ModuleEntry\0") {
            assert!(init(std::ptr::null_mut()), "ModuleEntry failed");
        }
        let get_factory = lib
            .get::<unsafe extern "system" fn() -> *mut c_void>(b"GetPluginFactory\0")
            .expect("GetPluginFactory");
        let factory = get_factory();
        assert!(!factory.is_null());
        let f: &IPluginFactoryVtbl = vtbl(factory);
        let n = (f.count_classes)(factory);
        let mut audio_class = None;
        for i in 0..n {
            let mut info: PClassInfo = std::mem::zeroed();
            assert_eq!((f.get_class_info)(factory, i, &mut info), K_RESULT_OK);
            let category = CStr::from_ptr(info.category.as_ptr()).to_string_lossy();
            if category == "Audio Module Class" {
                let name = CStr::from_ptr(info.name.as_ptr())
                    .to_string_lossy()
                    .into_owned();
                audio_class = Some((info.cid, name));
            }
        }
        let (cid, class_name) = audio_class.expect("an Audio Module Class");

        let mut component: *mut c_void = std::ptr::null_mut();
        assert_eq!(
            (f.create_instance)(
                factory,
                cid.as_ptr() as *const c_char,
                ICOMPONENT_IID.as_ptr() as *const c_char,
                &mut component,
            ),
            K_RESULT_OK,
            "createInstance(IComponent)"
        );
        let c: &IComponentVtbl = vtbl(component);
        assert_eq!((c.initialize)(component, std::ptr::null_mut()), K_RESULT_OK);
        let mut processor: *mut c_void = std::ptr::null_mut();
        assert_eq!(
            (c.unknown.query_interface)(component, &IAUDIO_PROCESSOR_IID, &mut processor),
            K_RESULT_OK,
            "queryInterface(IAudioProcessor)"
        );
        let p: &IAudioProcessorVtbl = vtbl(processor);

        const AUDIO: i32 = 0;
        const OUTPUT: i32 = 1;
        let outs = (c.get_bus_count)(component, AUDIO, OUTPUT);
        assert_eq!(outs, 2, "master + cue output buses");
        assert_eq!((c.get_bus_count)(component, AUDIO, 0), 0, "no audio inputs");
        const STEREO: u64 = 3;
        let mut arr = [STEREO, STEREO];
        let mut no_inputs = [0u64; 1];
        assert_eq!(
            (p.set_bus_arrangements)(processor, no_inputs.as_mut_ptr(), 0, arr.as_mut_ptr(), 2),
            K_RESULT_OK,
            "setBusArrangements(no inputs, 2 × stereo out)"
        );
        for bus in 0..outs {
            assert_eq!(
                (c.activate_bus)(component, AUDIO, OUTPUT, bus, 1),
                K_RESULT_OK
            );
        }
        assert_eq!((p.can_process_sample_size)(processor, 0), K_RESULT_OK);
        let mut setup = ProcessSetup {
            process_mode: 0,
            symbolic_sample_size: 0,
            max_samples_per_block: block as i32,
            sample_rate: rate,
        };
        assert_eq!((p.setup_processing)(processor, &mut setup), K_RESULT_OK);
        assert_eq!((c.set_active)(component, 1), K_RESULT_OK);
        assert_eq!((p.get_latency_samples)(processor), 0);
        (p.set_processing)(processor, 1);

        let mut chans: Vec<Vec<f32>> = (0..4).map(|_| vec![f32::NAN; block]).collect();
        let mut done = 0;
        let mut finite = true;
        for _ in 0..blocks {
            let mut ptrs: Vec<*mut f32> = chans.iter_mut().map(|c| c.as_mut_ptr()).collect();
            let mut buses = [
                AudioBusBuffers {
                    num_channels: 2,
                    silence_flags: 0,
                    channel_buffers_32: ptrs.as_mut_ptr(),
                },
                AudioBusBuffers {
                    num_channels: 2,
                    silence_flags: 0,
                    channel_buffers_32: ptrs.as_mut_ptr().add(2),
                },
            ];
            let mut data = ProcessData {
                process_mode: 0,
                symbolic_sample_size: 0,
                num_samples: block as i32,
                num_inputs: 0,
                num_outputs: 2,
                inputs: std::ptr::null_mut(),
                outputs: buses.as_mut_ptr(),
                input_parameter_changes: std::ptr::null_mut(),
                output_parameter_changes: std::ptr::null_mut(),
                input_events: std::ptr::null_mut(),
                output_events: std::ptr::null_mut(),
                process_context: std::ptr::null_mut(),
            };
            if (p.process)(processor, &mut data) == K_RESULT_OK {
                done += 1;
            }
            finite &= chans.iter().all(|c| c.iter().all(|s| s.is_finite()));
        }
        (p.set_processing)(processor, 0);
        assert_eq!((c.set_active)(component, 0), K_RESULT_OK);
        assert_eq!((c.terminate)(component), K_RESULT_OK);
        (p.unknown.release)(processor);
        (c.unknown.release)(component);
        (f.unknown.release)(factory);
        if let Ok(exit) = lib.get::<unsafe extern "C" fn() -> bool>(b"ModuleExit\0") {
            exit();
        }
        Report {
            class_name,
            blocks: done,
            finite,
        }
    }
}
