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
