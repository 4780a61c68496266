//! A small CLAP host for tests and benches: loads a real `.clap` binary with `libloading`,
//! talks to it through `clap-sys`, and offers the host extensions nice-plug asks for
//! (thread check, params, state, latency, log, gui).
//!
//! Main-thread calls (create, activate, state, params, gui, destroy) are made on the thread
//! that created the [`Instance`]; [`Processor`] is the audio-thread end, `Send`, so a test
//! can process from another thread.

#![allow(dead_code)]

pub mod screen;

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::ThreadId;

use clap_sys::entry::clap_plugin_entry;
use clap_sys::events::*;
use clap_sys::ext::audio_ports::*;
use clap_sys::ext::audio_ports_config::*;
use clap_sys::ext::gui::*;
use clap_sys::ext::latency::*;
use clap_sys::ext::log::*;
use clap_sys::ext::params::*;
use clap_sys::ext::state::*;
use clap_sys::ext::thread_check::*;
use clap_sys::factory::plugin_factory::*;
use clap_sys::fixedpoint::CLAP_BEATTIME_FACTOR;
use clap_sys::host::clap_host;
use clap_sys::id::clap_id;
use clap_sys::plugin::clap_plugin;
use clap_sys::process::*;
use clap_sys::stream::*;
use clap_sys::version::CLAP_VERSION;

/// Repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Build and bundle the plugin once per process (`cargo xtask bundle segue-plugin`, with
/// `--release` when asked), returning `target/bundled`. The bundles are built fresh so the
/// tests always load the current code.
pub fn bundle(release: bool) -> PathBuf {
    static DEBUG: OnceLock<PathBuf> = OnceLock::new();
    static RELEASE: OnceLock<PathBuf> = OnceLock::new();
    let cell = if release { &RELEASE } else { &DEBUG };
    cell.get_or_init(|| {
        if let Some(dir) = std::env::var_os("SEGUE_BUNDLED_DIR") {
            return PathBuf::from(dir);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(repo_root())
            .args(["run", "--quiet", "--package", "xtask"]);
        if release {
            cmd.arg("--release");
        }
        cmd.args(["--", "bundle", "segue-plugin"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo xtask bundle");
        assert!(status.success(), "cargo xtask bundle segue-plugin failed");
        let dir = target_dir().join("bundled");
        assert!(dir.join("Segue.clap").is_file(), "no Segue.clap in {dir:?}");
        dir
    })
    .clone()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// A loaded `.clap` library (entry initialised until dropped).
pub struct Library {
    _lib: libloading::Library,
    entry: *const clap_plugin_entry,
    factory: *const clap_plugin_factory,
}

impl Library {
    /// dlopen (a private copy of) the bundle and initialise its entry. The copy keeps a
    /// later rebuild of `target/bundled` from rewriting a mapped library.
    pub fn load(bundle: &Path) -> Library {
        let dir = std::env::temp_dir().join(format!("segue-clap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(bundle.file_name().unwrap());
        std::fs::copy(bundle, &path).expect("copy the bundle");
        let path = path.as_path();
        // SAFETY: loading our own plugin binary; its initialisers are nice-plug's.
        let lib = unsafe { libloading::Library::new(path) }.expect("dlopen the .clap bundle");
        // SAFETY: `clap_entry` is a static `clap_plugin_entry` in every CLAP binary.
        let entry: *const clap_plugin_entry = unsafe {
            *lib.get::<*const clap_plugin_entry>(b"clap_entry\0")
                .expect("clap_entry symbol")
        };
        let cpath = CString::new(path.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: entry points into the loaded library, which outlives these calls.
        let factory = unsafe {
            assert!(
                (*entry).init.unwrap()(cpath.as_ptr()),
                "clap_entry.init failed"
            );
            // The mapping stays; the 400 MB copy need not outlive the test.
            let _ = std::fs::remove_file(path);
            (*entry).get_factory.unwrap()(CLAP_PLUGIN_FACTORY_ID.as_ptr())
                as *const clap_plugin_factory
        };
        assert!(!factory.is_null(), "no plugin factory");
        Library {
            _lib: lib,
            entry,
            factory,
        }
    }

    /// Plugins in the factory.
    pub fn count(&self) -> u32 {
        // SAFETY: factory is valid while the library is loaded.
        unsafe { (*self.factory).get_plugin_count.unwrap()(self.factory) }
    }

    /// (id, name, vendor, version, features) of plugin `index`.
    pub fn descriptor(&self, index: u32) -> (String, String, String, String, Vec<String>) {
        // SAFETY: the descriptor and its strings are static in the plugin.
        unsafe {
            let d = (*self.factory).get_plugin_descriptor.unwrap()(self.factory, index);
            assert!(!d.is_null());
            let s = |p: *const c_char| CStr::from_ptr(p).to_string_lossy().into_owned();
            let mut features = Vec::new();
            let mut f = (*d).features;
            while !f.is_null() && !(*f).is_null() {
                features.push(s(*f));
                f = f.add(1);
            }
            (
                s((*d).id),
                s((*d).name),
                s((*d).vendor),
                s((*d).version),
                features,
            )
        }
    }

    /// Create and init an instance of plugin `id`.
    pub fn create(&self, id: &str) -> Instance {
        let data = Box::new(HostData {
            main: std::thread::current().id(),
            restart_requested: AtomicBool::new(false),
            callback_requested: AtomicBool::new(false),
        });
        let mut host = Box::new(clap_host {
            clap_version: CLAP_VERSION,
            host_data: std::ptr::null_mut(),
            name: c"segue-test-host".as_ptr(),
            vendor: c"segue".as_ptr(),
            url: c"".as_ptr(),
            version: c"1".as_ptr(),
            get_extension: Some(host_get_extension),
            request_restart: Some(host_request_restart),
            request_process: Some(host_noop),
            request_callback: Some(host_request_callback),
        });
        host.host_data = &*data as *const HostData as *mut c_void;
        let cid = CString::new(id).unwrap();
        // SAFETY: host and data are boxed and live as long as the instance.
        let plugin =
            unsafe { (*self.factory).create_plugin.unwrap()(self.factory, &*host, cid.as_ptr()) };
        assert!(!plugin.is_null(), "create_plugin({id}) returned null");
        // SAFETY: plugin was just created on this thread.
        unsafe { assert!((*plugin).init.unwrap()(plugin), "plugin init failed") };
        Instance {
            plugin,
            _host: host,
            data,
            active: false,
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // SAFETY: paired with init in `load`.
        unsafe { (*self.entry).deinit.unwrap()() };
    }
}

/// What the host remembers per instance.
pub struct HostData {
    main: ThreadId,
    /// The plugin asked for a restart.
    pub restart_requested: AtomicBool,
    /// The plugin asked for a main-thread callback.
    pub callback_requested: AtomicBool,
}

unsafe fn host_data<'a>(host: *const clap_host) -> &'a HostData {
    // SAFETY: host_data is set to a live HostData in `create`.
    unsafe { &*((*host).host_data as *const HostData) }
}

unsafe extern "C" fn host_noop(_host: *const clap_host) {}

unsafe extern "C" fn host_request_restart(host: *const clap_host) {
    // SAFETY: the plugin passes back the host we gave it.
    unsafe { host_data(host) }
        .restart_requested
        .store(true, Ordering::SeqCst);
}

unsafe extern "C" fn host_request_callback(host: *const clap_host) {
    // SAFETY: the plugin passes back the host we gave it.
    unsafe { host_data(host) }
        .callback_requested
        .store(true, Ordering::SeqCst);
}

unsafe extern "C" fn is_main_thread(host: *const clap_host) -> bool {
    // SAFETY: the plugin passes back the host we gave it.
    unsafe { host_data(host) }.main == std::thread::current().id()
}

unsafe extern "C" fn is_audio_thread(host: *const clap_host) -> bool {
    // SAFETY: as in `is_main_thread`, same pointer.
    !unsafe { is_main_thread(host) }
}

static THREAD_CHECK: clap_host_thread_check = clap_host_thread_check {
    is_main_thread: Some(is_main_thread),
    is_audio_thread: Some(is_audio_thread),
};

unsafe extern "C" fn params_rescan(_h: *const clap_host, _flags: clap_param_rescan_flags) {}
unsafe extern "C" fn params_clear(_h: *const clap_host, _id: clap_id, _f: clap_param_clear_flags) {}

static HOST_PARAMS: clap_host_params = clap_host_params {
    rescan: Some(params_rescan),
    clear: Some(params_clear),
    request_flush: Some(host_noop),
};

static HOST_STATE: clap_host_state = clap_host_state {
    mark_dirty: Some(host_noop),
};

static HOST_LATENCY: clap_host_latency = clap_host_latency {
    changed: Some(host_noop),
};

unsafe extern "C" fn host_log(
    _h: *const clap_host,
    severity: clap_log_severity,
    msg: *const c_char,
) {
    if !msg.is_null() && severity >= CLAP_LOG_WARNING {
        // SAFETY: a non-null, NUL-terminated message the plugin owns for the call.
        eprintln!("[plugin log {severity}] {}", unsafe {
            CStr::from_ptr(msg).to_string_lossy()
        });
    }
}

static HOST_LOG: clap_host_log = clap_host_log {
    log: Some(host_log),
};

unsafe extern "C" fn gui_request_resize(_h: *const clap_host, _w: u32, _hh: u32) -> bool {
    true
}
unsafe extern "C" fn gui_request(_h: *const clap_host) -> bool {
    true
}
unsafe extern "C" fn gui_closed(_h: *const clap_host, _destroyed: bool) {}

static HOST_GUI: clap_host_gui = clap_host_gui {
    resize_hints_changed: Some(host_noop),
    request_resize: Some(gui_request_resize),
    request_show: Some(gui_request),
    request_hide: Some(gui_request),
    closed: Some(gui_closed),
};

unsafe extern "C" fn host_get_extension(
    _host: *const clap_host,
    id: *const c_char,
) -> *const c_void {
    // SAFETY: the plugin passes a NUL-terminated id.
    let id = unsafe { CStr::from_ptr(id) };
    if id == CLAP_EXT_THREAD_CHECK {
        &THREAD_CHECK as *const _ as *const c_void
    } else if id == CLAP_EXT_PARAMS {
        &HOST_PARAMS as *const _ as *const c_void
    } else if id == CLAP_EXT_STATE {
        &HOST_STATE as *const _ as *const c_void
    } else if id == CLAP_EXT_LATENCY {
        &HOST_LATENCY as *const _ as *const c_void
    } else if id == CLAP_EXT_LOG {
        &HOST_LOG as *const _ as *const c_void
    } else if id == CLAP_EXT_GUI {
        &HOST_GUI as *const _ as *const c_void
    } else {
        std::ptr::null()
    }
}

/// nice-plug's CLAP state: an 8-byte little-endian length, then the JSON document.
pub fn state_json(bytes: &[u8]) -> serde_json::Value {
    assert!(bytes.len() >= 8, "state too short");
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + n]).expect("the state is JSON")
}

/// The inverse of [`state_json`].
pub fn state_bytes(doc: &serde_json::Value) -> Vec<u8> {
    let json = serde_json::to_vec(doc).unwrap();
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out
}

/// The `session` document inside a saved state.
pub fn session_of(state: &[u8]) -> serde_json::Value {
    let doc = state_json(state);
    serde_json::from_str(doc["fields"]["session"].as_str().expect("session field")).unwrap()
}

/// Edit the `session` document inside a saved state.
pub fn with_session(state: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut doc = state_json(state);
    let mut session = session_of(state);
    edit(&mut session);
    doc["fields"]["session"] = serde_json::Value::String(session.to_string());
    state_bytes(&doc)
}

/// A parameter as the plugin describes it.
#[derive(Debug, Clone)]
pub struct ParamInfo {
    /// CLAP id (nice-plug: a hash of the string id).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Group path.
    pub module: String,
    /// Range and default (plain values).
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Default.
    pub default: f64,
}

/// nice-plug's CLAP/VST3 parameter id for a string id.
pub fn param_hash(id: &str) -> u32 {
    let mut hash: u32 = 0;
    for b in id.bytes() {
        hash = hash.wrapping_mul(31).wrapping_add(b as u32);
    }
    hash & !(1 << 31)
}

/// An audio-ports configuration the plugin offers (`clap_plugin_audio_ports_config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortsConfig {
    /// Config id (what `select` takes).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Output ports, the main one included.
    pub outputs: u32,
    /// Channels of the main output.
    pub main_channels: u32,
}

/// An output port of the selected configuration (`clap_plugin_audio_ports`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// Display name.
    pub name: String,
    /// Channels.
    pub channels: u32,
    /// The main port.
    pub main: bool,
}

/// One plugin instance (main-thread end).
pub struct Instance {
    plugin: *const clap_plugin,
    _host: Box<clap_host>,
    /// What the plugin asked of the host.
    pub data: Box<HostData>,
    active: bool,
}

impl Instance {
    fn ext<T>(&self, id: &CStr) -> *const T {
        // SAFETY: main-thread call on a live plugin.
        unsafe { (*self.plugin).get_extension.unwrap()(self.plugin, id.as_ptr()) as *const T }
    }

    /// Every parameter.
    pub fn params(&self) -> Vec<ParamInfo> {
        let ext: *const clap_plugin_params = self.ext(CLAP_EXT_PARAMS);
        assert!(!ext.is_null(), "no params extension");
        // SAFETY: the extension table is static in the plugin; info is plain data.
        unsafe {
            let n = (*ext).count.unwrap()(self.plugin);
            (0..n)
                .map(|i| {
                    let mut info: clap_param_info = std::mem::zeroed();
                    assert!((*ext).get_info.unwrap()(self.plugin, i, &mut info));
                    ParamInfo {
                        id: info.id,
                        name: CStr::from_ptr(info.name.as_ptr()).to_string_lossy().into(),
                        module: CStr::from_ptr(info.module.as_ptr())
                            .to_string_lossy()
                            .into(),
                        min: info.min_value,
                        max: info.max_value,
                        default: info.default_value,
                    }
                })
                .collect()
        }
    }

    /// Current value of a parameter.
    pub fn param_value(&self, id: u32) -> Option<f64> {
        let ext: *const clap_plugin_params = self.ext(CLAP_EXT_PARAMS);
        let mut v = 0.0;
        // SAFETY: as above.
        unsafe { (*ext).get_value.unwrap()(self.plugin, id, &mut v) }.then_some(v)
    }

    /// Latency the plugin reports, frames.
    pub fn latency(&self) -> Option<u32> {
        let ext: *const clap_plugin_latency = self.ext(CLAP_EXT_LATENCY);
        // SAFETY: as above.
        (!ext.is_null()).then(|| unsafe { (*ext).get.unwrap()(self.plugin) })
    }

    /// The audio-ports configurations the plugin offers.
    pub fn ports_configs(&self) -> Vec<PortsConfig> {
        let ext: *const clap_plugin_audio_ports_config = self.ext(CLAP_EXT_AUDIO_PORTS_CONFIG);
        assert!(!ext.is_null(), "no audio-ports-config extension");
        // SAFETY: main-thread calls; the config struct is plain data the plugin fills.
        unsafe {
            let n = (*ext).count.unwrap()(self.plugin);
            (0..n)
                .map(|i| {
                    let mut c: clap_audio_ports_config = std::mem::zeroed();
                    assert!((*ext).get.unwrap()(self.plugin, i, &mut c));
                    PortsConfig {
                        id: c.id,
                        name: CStr::from_ptr(c.name.as_ptr()).to_string_lossy().into(),
                        outputs: c.output_port_count,
                        main_channels: c.main_output_channel_count,
                    }
                })
                .collect()
        }
    }

    /// Select audio-ports configuration `id` (while inactive, as CLAP requires).
    pub fn select_ports_config(&self, id: u32) -> bool {
        assert!(!self.active, "select a ports config before activating");
        let ext: *const clap_plugin_audio_ports_config = self.ext(CLAP_EXT_AUDIO_PORTS_CONFIG);
        // SAFETY: main-thread call on an inactive plugin.
        unsafe { (*ext).select.unwrap()(self.plugin, id) }
    }

    /// The output ports of the selected configuration.
    pub fn output_ports(&self) -> Vec<PortInfo> {
        let ext: *const clap_plugin_audio_ports = self.ext(CLAP_EXT_AUDIO_PORTS);
        assert!(!ext.is_null(), "no audio-ports extension");
        // SAFETY: main-thread calls; the info struct is plain data the plugin fills.
        unsafe {
            let n = (*ext).count.unwrap()(self.plugin, false);
            (0..n)
                .map(|i| {
                    let mut info: clap_audio_port_info = std::mem::zeroed();
                    assert!((*ext).get.unwrap()(self.plugin, i, false, &mut info));
                    PortInfo {
                        name: CStr::from_ptr(info.name.as_ptr()).to_string_lossy().into(),
                        channels: info.channel_count,
                        main: info.flags & CLAP_AUDIO_PORT_IS_MAIN != 0,
                    }
                })
                .collect()
        }
    }

    /// Activate at `rate` for blocks of 1..=`max_block` frames.
    pub fn activate(&mut self, rate: f64, max_block: u32) -> bool {
        // SAFETY: main-thread call.
        let ok = unsafe { (*self.plugin).activate.unwrap()(self.plugin, rate, 1, max_block) };
        self.active = ok;
        ok
    }

    /// Deactivate.
    pub fn deactivate(&mut self) {
        if self.active {
            // SAFETY: main-thread call on an active plugin.
            unsafe { (*self.plugin).deactivate.unwrap()(self.plugin) };
            self.active = false;
        }
    }

    /// The audio-thread end for blocks up to `max_block` frames, with the default layout's
    /// two stereo outputs (master, cue).
    pub fn processor(&self, max_block: usize) -> Processor {
        self.processor_with_ports(max_block, 2)
    }

    /// The audio-thread end with `ports` stereo output ports (the selected configuration's
    /// count: see [`Instance::output_ports`]).
    pub fn processor_with_ports(&self, max_block: usize, ports: usize) -> Processor {
        Processor {
            plugin: self.plugin,
            out: (0..2 * ports).map(|_| vec![0.0; max_block]).collect(),
            started: false,
            steady: 0,
        }
    }

    /// Save the state.
    pub fn save_state(&self) -> Vec<u8> {
        let ext: *const clap_plugin_state = self.ext(CLAP_EXT_STATE);
        assert!(!ext.is_null(), "no state extension");
        let mut buf: Vec<u8> = Vec::new();
        let stream = clap_ostream {
            ctx: &mut buf as *mut Vec<u8> as *mut c_void,
            write: Some(ostream_write),
        };
        assert!(
            // SAFETY: the stream's ctx is a live Vec for the call.
            unsafe { (*ext).save.unwrap()(self.plugin, &stream) },
            "state save failed"
        );
        buf
    }

    /// Load a state; false if the plugin rejects it.
    pub fn load_state(&self, bytes: &[u8]) -> bool {
        let ext: *const clap_plugin_state = self.ext(CLAP_EXT_STATE);
        let mut cursor = (bytes, 0usize);
        let stream = clap_istream {
            ctx: &mut cursor as *mut (&[u8], usize) as *mut c_void,
            read: Some(istream_read),
        };
        // SAFETY: the stream's ctx is a live cursor for the call.
        unsafe { (*ext).load.unwrap()(self.plugin, &stream) }
    }

    /// Run the plugin's main-thread callback if it asked for one.
    pub fn idle(&self) {
        if self.data.callback_requested.swap(false, Ordering::SeqCst) {
            // SAFETY: main-thread call.
            unsafe { (*self.plugin).on_main_thread.unwrap()(self.plugin) };
        }
    }

    /// Open the editor embedded in X11 window `parent`; returns its size.
    pub fn open_gui(&self, parent: u64) -> (u32, u32) {
        let ext: *const clap_plugin_gui = self.ext(CLAP_EXT_GUI);
        assert!(!ext.is_null(), "no gui extension");
        // SAFETY: main-thread calls; the window struct lives across the call.
        unsafe {
            let g = &*ext;
            assert!(g.is_api_supported.unwrap()(
                self.plugin,
                CLAP_WINDOW_API_X11.as_ptr(),
                false
            ));
            assert!(g.create.unwrap()(
                self.plugin,
                CLAP_WINDOW_API_X11.as_ptr(),
                false
            ));
            let (mut w, mut h) = (0, 0);
            assert!(g.get_size.unwrap()(self.plugin, &mut w, &mut h));
            let window = clap_window {
                api: CLAP_WINDOW_API_X11.as_ptr(),
                specific: clap_window_handle { x11: parent as _ },
            };
            assert!(
                g.set_parent.unwrap()(self.plugin, &window),
                "gui set_parent failed"
            );
            g.show.unwrap()(self.plugin);
            (w, h)
        }
    }

    /// Ask the open editor to take the size `w` x `h` (what a host does when the user drags
    /// its window's edge); false when the editor refuses (not resizable).
    pub fn set_gui_size(&self, w: u32, h: u32) -> bool {
        let ext: *const clap_plugin_gui = self.ext(CLAP_EXT_GUI);
        // SAFETY: main-thread calls after open_gui.
        unsafe {
            let g = &*ext;
            if !g.can_resize.unwrap()(self.plugin) {
                return false;
            }
            let (mut aw, mut ah) = (w, h);
            g.adjust_size.unwrap()(self.plugin, &mut aw, &mut ah);
            (aw, ah) == (w, h) && g.set_size.unwrap()(self.plugin, w, h)
        }
    }

    /// Close the editor.
    pub fn close_gui(&self) {
        let ext: *const clap_plugin_gui = self.ext(CLAP_EXT_GUI);
        // SAFETY: main-thread call after open_gui.
        unsafe { (*ext).destroy.unwrap()(self.plugin) };
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.deactivate();
        // SAFETY: main-thread call; the plugin is not used after this.
        unsafe { (*self.plugin).destroy.unwrap()(self.plugin) };
    }
}

unsafe extern "C" fn ostream_write(s: *const clap_ostream, buf: *const c_void, size: u64) -> i64 {
    // SAFETY: ctx is the Vec passed in `save_state`.
    let v = unsafe { &mut *((*s).ctx as *mut Vec<u8>) };
    // SAFETY: the plugin hands `size` readable bytes at `buf` for the call.
    v.extend_from_slice(unsafe { std::slice::from_raw_parts(buf as *const u8, size as usize) });
    size as i64
}

unsafe extern "C" fn istream_read(s: *const clap_istream, buf: *mut c_void, size: u64) -> i64 {
    // SAFETY: ctx is the cursor passed in `load_state`.
    let (bytes, pos) = unsafe { &mut *((*s).ctx as *mut (&[u8], usize)) };
    let n = (bytes.len() - *pos).min(size as usize);
    // SAFETY: `buf` has room for `size` ≥ n bytes; the source slice has n left.
    unsafe { std::ptr::copy_nonoverlapping(bytes[*pos..].as_ptr(), buf as *mut u8, n) };
    *pos += n;
    n as i64
}

/// An input event for [`Processor::process`].
#[derive(Clone, Copy)]
pub enum Event {
    /// Set a parameter (plain value) at frame `time`.
    Param {
        /// Frame in the block.
        time: u32,
        /// CLAP id.
        id: u32,
        /// Plain value.
        value: f64,
    },
    /// Note on (velocity > 0) or off (velocity 0), channel 0-15.
    Note {
        /// Frame in the block.
        time: u32,
        /// Channel, 0-based.
        channel: u8,
        /// Key.
        key: u8,
        /// 0..=1.
        velocity: f64,
    },
    /// MIDI CC (value 0..=127).
    Cc {
        /// Frame in the block.
        time: u32,
        /// Channel, 0-based.
        channel: u8,
        /// Controller.
        cc: u8,
        /// Value.
        value: u8,
    },
}

#[repr(C)]
union RawEvent {
    header: clap_event_header,
    param: clap_event_param_value,
    note: clap_event_note,
    midi: clap_event_midi,
}

fn header(size: usize, time: u32, type_: u16) -> clap_event_header {
    clap_event_header {
        size: size as u32,
        time,
        space_id: CLAP_CORE_EVENT_SPACE_ID,
        type_,
        flags: 0,
    }
}

impl Event {
    fn raw(self) -> RawEvent {
        match self {
            Event::Param { time, id, value } => RawEvent {
                param: clap_event_param_value {
                    header: header(
                        size_of::<clap_event_param_value>(),
                        time,
                        CLAP_EVENT_PARAM_VALUE,
                    ),
                    param_id: id,
                    cookie: std::ptr::null_mut(),
                    note_id: -1,
                    port_index: -1,
                    channel: -1,
                    key: -1,
                    value,
                },
            },
            Event::Note {
                time,
                channel,
                key,
                velocity,
            } => RawEvent {
                note: clap_event_note {
                    header: header(
                        size_of::<clap_event_note>(),
                        time,
                        if velocity > 0.0 {
                            CLAP_EVENT_NOTE_ON
                        } else {
                            CLAP_EVENT_NOTE_OFF
                        },
                    ),
                    note_id: -1,
                    port_index: 0,
                    channel: channel as i16,
                    key: key as i16,
                    velocity,
                },
            },
            Event::Cc {
                time,
                channel,
                cc,
                value,
            } => RawEvent {
                midi: clap_event_midi {
                    header: header(size_of::<clap_event_midi>(), time, CLAP_EVENT_MIDI),
                    port_index: 0,
                    data: [0xB0 | (channel & 15), cc & 127, value & 127],
                },
            },
        }
    }
}

unsafe extern "C" fn in_size(list: *const clap_input_events) -> u32 {
    // SAFETY: ctx is the Vec<RawEvent> of the current `process` call.
    unsafe { (*((*list).ctx as *const Vec<RawEvent>)).len() as u32 }
}

unsafe extern "C" fn in_get(list: *const clap_input_events, i: u32) -> *const clap_event_header {
    // SAFETY: as above; the index is in range (the plugin asked `size` first).
    let v = unsafe { &*((*list).ctx as *const Vec<RawEvent>) };
    v.get(i as usize)
        // SAFETY: every RawEvent variant starts with its clap_event_header.
        .map_or(std::ptr::null(), |e| unsafe { &e.header } as *const _)
}

unsafe extern "C" fn out_push(_l: *const clap_output_events, _e: *const clap_event_header) -> bool {
    true
}

/// Host transport for a block.
#[derive(Debug, Clone, Copy)]
pub struct Transport {
    /// BPM.
    pub tempo: f64,
    /// Playing.
    pub playing: bool,
    /// Song position, beats.
    pub beats: f64,
}

/// The audio-thread end of an [`Instance`].
pub struct Processor {
    plugin: *const clap_plugin,
    /// The last block, two channels per output port: master L, R, cue L, R (then each
    /// further port's L, R).
    pub out: Vec<Vec<f32>>,
    started: bool,
    steady: i64,
}

// SAFETY: CLAP's audio-thread functions may be called from any one thread at a time; the
// processor is the only user of them.
unsafe impl Send for Processor {}

impl Processor {
    /// Process one block of `frames` with `events` (sorted by time) and an optional transport.
    /// Returns the plugin's status.
    pub fn process(
        &mut self,
        frames: usize,
        events: &[Event],
        transport: Option<Transport>,
    ) -> clap_process_status {
        assert!(frames <= self.out[0].len());
        if !self.started {
            // SAFETY: audio-thread call on an active plugin.
            assert!(unsafe { (*self.plugin).start_processing.unwrap()(self.plugin) });
            self.started = true;
        }
        let raw: Vec<RawEvent> = events.iter().map(|e| e.raw()).collect();
        let in_events = clap_input_events {
            ctx: &raw as *const Vec<RawEvent> as *mut c_void,
            size: Some(in_size),
            get: Some(in_get),
        };
        let out_events = clap_output_events {
            ctx: std::ptr::null_mut(),
            try_push: Some(out_push),
        };
        for ch in &mut self.out {
            ch[..frames].fill(f32::NAN);
        }
        let mut ptrs: Vec<*mut f32> = self.out.iter_mut().map(|c| c.as_mut_ptr()).collect();
        let mut buffers: Vec<clap_sys::audio_buffer::clap_audio_buffer> = (0..ptrs.len() / 2)
            .map(|port| clap_sys::audio_buffer::clap_audio_buffer {
                // SAFETY: ptrs has two entries per port.
                data32: unsafe { ptrs.as_mut_ptr().add(2 * port) },
                data64: std::ptr::null_mut(),
                channel_count: 2,
                latency: 0,
                constant_mask: 0,
            })
            .collect();
        let tr = transport.map(|t| clap_event_transport {
            header: header(size_of::<clap_event_transport>(), 0, CLAP_EVENT_TRANSPORT),
            flags: CLAP_TRANSPORT_HAS_TEMPO
                | CLAP_TRANSPORT_HAS_BEATS_TIMELINE
                | CLAP_TRANSPORT_HAS_TIME_SIGNATURE
                | if t.playing {
                    CLAP_TRANSPORT_IS_PLAYING
                } else {
                    0
                },
            song_pos_beats: (t.beats * CLAP_BEATTIME_FACTOR as f64).round() as i64,
            song_pos_seconds: 0,
            tempo: t.tempo,
            tempo_inc: 0.0,
            loop_start_beats: 0,
            loop_end_beats: 0,
            loop_start_seconds: 0,
            loop_end_seconds: 0,
            bar_start: 0,
            bar_number: 0,
            tsig_num: 4,
            tsig_denom: 4,
        });
        let process = clap_process {
            steady_time: self.steady,
            frames_count: frames as u32,
            transport: tr.as_ref().map_or(std::ptr::null(), |t| t as *const _),
            audio_inputs: std::ptr::null(),
            audio_outputs: buffers.as_mut_ptr(),
            audio_inputs_count: 0,
            audio_outputs_count: buffers.len() as u32,
            in_events: &in_events,
            out_events: &out_events,
        };
        self.steady += frames as i64;
        // SAFETY: every pointer in `process` is live for the call.
        unsafe { (*self.plugin).process.unwrap()(self.plugin, &process) }
    }

    /// Stop processing (before deactivation).
    pub fn stop(&mut self) {
        if self.started {
            // SAFETY: audio-thread call.
            unsafe { (*self.plugin).stop_processing.unwrap()(self.plugin) };
            self.started = false;
        }
    }
}

/// Everything CLAP_PROCESS_* returns that means "fine".
pub fn process_ok(status: clap_process_status) -> bool {
    matches!(
        status,
        CLAP_PROCESS_CONTINUE
            | CLAP_PROCESS_CONTINUE_IF_NOT_QUIET
            | CLAP_PROCESS_TAIL
            | CLAP_PROCESS_SLEEP
    )
}
