//! Reading the X server's screen (for the editor screenshot under Xvfb) with libX11, loaded
//! at run time so the tests need no X development headers.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void};

/// The part of Xlib's `XImage` this reads.
#[repr(C)]
struct XImage {
    width: c_int,
    height: c_int,
    xoffset: c_int,
    format: c_int,
    data: *mut c_char,
    byte_order: c_int,
    bitmap_unit: c_int,
    bitmap_bit_order: c_int,
    bitmap_pad: c_int,
    depth: c_int,
    bytes_per_line: c_int,
    bits_per_pixel: c_int,
}

/// A connection to the X server named by `$DISPLAY`.
pub struct Display {
    lib: libloading::Library,
    dpy: *mut c_void,
}

impl Display {
    /// Open `$DISPLAY`; None without libX11 or a server.
    pub fn open() -> Option<Display> {
        // SAFETY: libX11's initialisers are safe to run; the symbols below have the Xlib
        // signatures they are declared with.
        unsafe {
            let lib = libloading::Library::new("libX11.so.6").ok()?;
            let open = lib
                .get::<unsafe extern "C" fn(*const c_char) -> *mut c_void>(b"XOpenDisplay\0")
                .ok()?;
            let dpy = open(std::ptr::null());
            (!dpy.is_null()).then_some(Display { lib, dpy })
        }
    }

    /// The root window's id (the parent the editor is embedded in).
    pub fn root(&self) -> c_ulong {
        // SAFETY: dpy is an open display.
        unsafe {
            let f = self
                .lib
                .get::<unsafe extern "C" fn(*mut c_void) -> c_ulong>(b"XDefaultRootWindow\0")
                .unwrap();
            f(self.dpy)
        }
    }

    /// RGB pixels of the root window's `w`×`h` top-left corner (24/32-bit TrueColor).
    pub fn capture(&self, w: u32, h: u32) -> Vec<u8> {
        // SAFETY: XGetImage returns an image of w×h pixels whose rows are bytes_per_line
        // apart; it is read within those bounds and then freed with XDestroyImage's
        // function pointer equivalent (XFree on data + struct is what it does for ZPixmap).
        unsafe {
            type GetImage = unsafe extern "C" fn(
                *mut c_void,
                c_ulong,
                c_int,
                c_int,
                c_uint,
                c_uint,
                c_ulong,
                c_int,
            ) -> *mut XImage;
            let get = self.lib.get::<GetImage>(b"XGetImage\0").unwrap();
            let free = self
                .lib
                .get::<unsafe extern "C" fn(*mut c_void) -> c_int>(b"XFree\0")
                .unwrap();
            const ZPIXMAP: c_int = 2;
            let img = get(self.dpy, self.root(), 0, 0, w, h, !0, ZPIXMAP);
            assert!(!img.is_null(), "XGetImage failed");
            let im = &*img;
            assert_eq!(
                im.bits_per_pixel, 32,
                "expected a 24/32-bit TrueColor screen"
            );
            let mut rgb = Vec::with_capacity((w * h * 3) as usize);
            for y in 0..h as usize {
                let row = im.data.add(y * im.bytes_per_line as usize) as *const u8;
                for x in 0..w as usize {
                    let p = row.add(x * 4);
                    // Little-endian BGRX.
                    rgb.extend_from_slice(&[*p.add(2), *p.add(1), *p]);
                }
            }
            free(im.data as *mut c_void);
            free(img as *mut c_void);
            rgb
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // SAFETY: closes the display opened in `open`.
        unsafe {
            if let Ok(close) = self
                .lib
                .get::<unsafe extern "C" fn(*mut c_void) -> c_int>(b"XCloseDisplay\0")
            {
                close(self.dpy);
            }
        }
    }
}

/// Write 8-bit RGB pixels as a PNG.
pub fn write_png(path: &std::path::Path, w: u32, h: u32, rgb: &[u8]) {
    let file = std::fs::File::create(path).expect("create the PNG");
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().expect("PNG header");
    writer.write_image_data(rgb).expect("PNG data");
}

/// Xlib's `XEvent`: a union of 24 longs. Fields are read by index (x86_64 / LP64 layout):
/// 0 type, 1 serial, 2 send_event, 3 display, 4 window, then per event type.
#[repr(C)]
#[derive(Clone, Copy)]
struct XEvent {
    l: [std::ffi::c_long; 24],
}

const SELECTION_REQUEST: i32 = 30;
const CLIENT_MESSAGE: i32 = 33;
const SELECTION_NOTIFY: i32 = 31;

impl Display {
    fn sym<T: Copy>(&self, name: &[u8]) -> T {
        // SAFETY: every caller names an Xlib function with the signature it asks for.
        unsafe { *self.lib.get::<T>(name).expect("Xlib symbol") }
    }

    fn atom(&self, name: &str) -> c_ulong {
        let intern: unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_ulong =
            self.sym(b"XInternAtom\0");
        let c = std::ffi::CString::new(name).unwrap();
        // SAFETY: dpy is open; the name is NUL-terminated.
        unsafe { intern(self.dpy, c.as_ptr(), 0) }
    }

    /// Children of the root window that say they accept XDND drops (`XdndAware`): an
    /// editor embedded in the root window.
    pub fn xdnd_targets(&self) -> Vec<c_ulong> {
        type QueryTree = unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            *mut c_ulong,
            *mut c_ulong,
            *mut *mut c_ulong,
            *mut c_uint,
        ) -> c_int;
        type GetProp = unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            c_ulong,
            std::ffi::c_long,
            std::ffi::c_long,
            c_int,
            c_ulong,
            *mut c_ulong,
            *mut c_int,
            *mut c_ulong,
            *mut c_ulong,
            *mut *mut u8,
        ) -> c_int;
        let query: QueryTree = self.sym(b"XQueryTree\0");
        let get: GetProp = self.sym(b"XGetWindowProperty\0");
        let free: unsafe extern "C" fn(*mut c_void) -> c_int = self.sym(b"XFree\0");
        let aware = self.atom("XdndAware");
        let mut out = Vec::new();
        // SAFETY: out-pointers are live locals; returned buffers are freed with XFree.
        unsafe {
            let (mut root, mut parent, mut children, mut n) = (0, 0, std::ptr::null_mut(), 0);
            if query(
                self.dpy,
                self.root(),
                &mut root,
                &mut parent,
                &mut children,
                &mut n,
            ) == 0
            {
                return out;
            }
            for i in 0..n as usize {
                let w = *children.add(i);
                let (mut ty, mut fmt, mut items, mut after, mut data) =
                    (0, 0, 0, 0, std::ptr::null_mut());
                let ok = get(
                    self.dpy, w, aware, 0, 1, 0, 0, &mut ty, &mut fmt, &mut items, &mut after,
                    &mut data,
                );
                if !data.is_null() {
                    free(data as *mut c_void);
                }
                if ok == 0 && items > 0 {
                    out.push(w);
                }
            }
            if !children.is_null() {
                free(children as *mut c_void);
            }
        }
        out
    }

    /// Drag `files` from a window of our own and drop them on `target` at root position
    /// (`x`, `y`), speaking XDND 5 as a file manager does: XdndEnter (text/uri-list),
    /// XdndPosition, answer the target's selection request with the URI list, XdndDrop
    /// after its XdndStatus, then wait for XdndFinished. Returns whether the target accepted.
    pub fn xdnd_drop(
        &self,
        target: c_ulong,
        (x, y): (i32, i32),
        files: &[&std::path::Path],
        timeout: std::time::Duration,
    ) -> Result<bool, String> {
        type CreateWindow = unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            c_int,
            c_int,
            c_uint,
            c_uint,
            c_uint,
            c_ulong,
            c_ulong,
        ) -> c_ulong;
        type SendEvent = unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            c_int,
            std::ffi::c_long,
            *mut XEvent,
        ) -> c_int;
        type ChangeProperty = unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            c_ulong,
            c_ulong,
            c_int,
            c_int,
            *const u8,
            c_int,
        ) -> c_int;
        let create: CreateWindow = self.sym(b"XCreateSimpleWindow\0");
        let destroy: unsafe extern "C" fn(*mut c_void, c_ulong) -> c_int =
            self.sym(b"XDestroyWindow\0");
        let set_owner: unsafe extern "C" fn(*mut c_void, c_ulong, c_ulong, c_ulong) -> c_int =
            self.sym(b"XSetSelectionOwner\0");
        let send: SendEvent = self.sym(b"XSendEvent\0");
        let change: ChangeProperty = self.sym(b"XChangeProperty\0");
        let flush: unsafe extern "C" fn(*mut c_void) -> c_int = self.sym(b"XFlush\0");
        let pending: unsafe extern "C" fn(*mut c_void) -> c_int = self.sym(b"XPending\0");
        let next: unsafe extern "C" fn(*mut c_void, *mut XEvent) -> c_int =
            self.sym(b"XNextEvent\0");
        let (enter, position, status, drop, finished, selection, uri_list, copy) = (
            self.atom("XdndEnter"),
            self.atom("XdndPosition"),
            self.atom("XdndStatus"),
            self.atom("XdndDrop"),
            self.atom("XdndFinished"),
            self.atom("XdndSelection"),
            self.atom("text/uri-list"),
            self.atom("XdndActionCopy"),
        );
        let uris: String = files
            .iter()
            .map(|p| format!("file://{}\r\n", p.display()))
            .collect();
        // SAFETY: Xlib calls on the open display with live locals; events are zeroed XEvents
        // filled per the Xlib layouts noted on `XEvent`.
        unsafe {
            let src = create(self.dpy, self.root(), 0, 0, 1, 1, 0, 0, 0);
            set_owner(self.dpy, selection, src, 0);
            let message = |kind: c_ulong, l: [std::ffi::c_long; 5]| {
                let mut e = XEvent { l: [0; 24] };
                e.l[0] = CLIENT_MESSAGE as _;
                e.l[4] = target as _;
                e.l[5] = kind as _;
                e.l[6] = 32;
                e.l[7..12].copy_from_slice(&l);
                send(self.dpy, target, 0, 0, &mut e);
                flush(self.dpy);
            };
            message(enter, [src as _, 5 << 24, uri_list as _, 0, 0]);
            let xy = ((x as std::ffi::c_long) << 16) | (y as std::ffi::c_long & 0xffff);
            message(position, [src as _, 0, xy, 0, copy as _]);
            let start = std::time::Instant::now();
            let mut accepted = false;
            let mut dropped = false;
            let result = loop {
                if start.elapsed() > timeout {
                    break Err(format!(
                        "no XdndFinished after {timeout:?} (status seen: {dropped})"
                    ));
                }
                if pending(self.dpy) == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                let mut e = XEvent { l: [0; 24] };
                next(self.dpy, &mut e);
                match (e.l[0] & 0xffff_ffff) as i32 {
                    SELECTION_REQUEST => {
                        let (requestor, sel, tgt, prop, time) =
                            (e.l[5] as c_ulong, e.l[6], e.l[7] as c_ulong, e.l[8], e.l[9]);
                        let ok = tgt == uri_list && prop != 0;
                        if ok {
                            change(
                                self.dpy,
                                requestor,
                                prop as c_ulong,
                                uri_list,
                                8,
                                0,
                                uris.as_ptr(),
                                uris.len() as c_int,
                            );
                        }
                        let mut n = XEvent { l: [0; 24] };
                        n.l[0] = SELECTION_NOTIFY as _;
                        n.l[2] = 1;
                        n.l[4] = requestor as _;
                        n.l[5] = sel;
                        n.l[6] = tgt as _;
                        n.l[7] = if ok { prop } else { 0 };
                        n.l[8] = time;
                        send(self.dpy, requestor, 0, 0, &mut n);
                        flush(self.dpy);
                    }
                    CLIENT_MESSAGE if e.l[5] as c_ulong == status => {
                        accepted = e.l[8] & 1 == 1;
                        if !dropped {
                            dropped = true;
                            message(drop, [src as _, 0, 0, 0, 0]);
                        }
                    }
                    CLIENT_MESSAGE if e.l[5] as c_ulong == finished => {
                        break Ok(accepted && e.l[8] & 1 == 1);
                    }
                    _ => {}
                }
            };
            destroy(self.dpy, src);
            flush(self.dpy);
            result
        }
    }
}

/// X keycodes (evdev + 8, what Xvfb uses) for [`Display::tap_key`].
pub mod keycode {
    /// Return.
    pub const ENTER: u8 = 36;
    /// BackSpace.
    pub const BACKSPACE: u8 = 22;
    /// Down arrow.
    pub const DOWN: u8 = 116;
}

impl Display {
    /// Press and release key `code` in `window` (synthetic XKeyEvents sent to it).
    pub fn tap_key(&self, window: c_ulong, code: u8) {
        type SendEvent = unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            c_int,
            std::ffi::c_long,
            *mut XEvent,
        ) -> c_int;
        let send: SendEvent = self.sym(b"XSendEvent\0");
        let flush: unsafe extern "C" fn(*mut c_void) -> c_int = self.sym(b"XFlush\0");
        const KEY_PRESS: std::ffi::c_long = 2;
        const KEY_RELEASE: std::ffi::c_long = 3;
        for (kind, mask) in [(KEY_PRESS, 1), (KEY_RELEASE, 2)] {
            // XKeyEvent: 4 window, 5 root, 6 subwindow, 7 time, 8 x|y, 9 x_root|y_root,
            // 10 state|keycode << 32, 11 same_screen.
            let mut e = XEvent { l: [0; 24] };
            e.l[0] = kind;
            e.l[4] = window as _;
            e.l[5] = self.root() as _;
            e.l[8] = 10 | (10 << 32);
            e.l[10] = (code as std::ffi::c_long) << 32;
            e.l[11] = 1;
            // SAFETY: a zeroed XEvent filled per the XKeyEvent layout; dpy is open.
            unsafe {
                send(self.dpy, window, 1, mask, &mut e);
                flush(self.dpy);
            }
            std::thread::sleep(std::time::Duration::from_millis(30));
        }
    }
}

impl Display {
    /// Move the pointer to (`x`, `y`) in `window` and click the left button there
    /// (synthetic MotionNotify, ButtonPress, ButtonRelease).
    pub fn click(&self, window: c_ulong, (x, y): (i32, i32)) {
        type SendEvent = unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            c_int,
            std::ffi::c_long,
            *mut XEvent,
        ) -> c_int;
        let send: SendEvent = self.sym(b"XSendEvent\0");
        let flush: unsafe extern "C" fn(*mut c_void) -> c_int = self.sym(b"XFlush\0");
        // (type, event mask): MotionNotify, ButtonPress, ButtonRelease.
        for (kind, mask) in [(6, 1 << 6), (4, 1 << 2), (5, 1 << 3)] {
            // XMotionEvent / XButtonEvent: 4 window, 5 root, 7 time, 8 x|y, 9 root x|y,
            // 10 state|button << 32 (is_hint for motion), 11 same_screen.
            let mut e = XEvent { l: [0; 24] };
            e.l[0] = kind;
            e.l[4] = window as _;
            e.l[5] = self.root() as _;
            let xy = (x as std::ffi::c_long & 0xffff_ffff) | ((y as std::ffi::c_long) << 32);
            e.l[8] = xy;
            e.l[9] = xy;
            if kind != 6 {
                e.l[10] = 1 << 32;
            }
            e.l[11] = 1;
            // SAFETY: a zeroed XEvent filled per the Xlib layouts above; dpy is open.
            unsafe {
                send(self.dpy, window, 1, mask, &mut e);
                flush(self.dpy);
            }
            std::thread::sleep(std::time::Duration::from_millis(80));
        }
    }
}
