//! `Controller::handle` and `feedback` allocate nothing besides the output vectors.

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use segue_controllers::{Controller, Mapping};
use segue_engine::Status;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

#[test]
fn handle_and_feedback_do_not_allocate() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/example.toml");
    let mut c = Controller::new(Mapping::load(path).unwrap(), 4);
    let mut st = Status {
        sample_rate: 48_000,
        deck_count: 4,
        ..Status::default()
    };
    let mut out = Vec::with_capacity(1024);
    let mut fb = Vec::with_capacity(1024);
    let before = violation_count();
    assert_no_alloc(|| {
        for round in 0..4u8 {
            for status in [0x80u8, 0x90, 0xB0, 0xE0] {
                for ch in 0..2u8 {
                    for n in 0..128u8 {
                        c.handle(&[status | ch, n, round * 40 + 1], &st, &mut out);
                        c.handle(&[status | ch, n, 0], &st, &mut out);
                    }
                }
            }
            st.decks[0].playing = round % 2 == 0;
            st.decks[1].meter.peak = round as f32 / 4.0;
            c.feedback(&st, &mut fb);
            out.clear();
            fb.clear();
        }
    });
    assert_eq!(violation_count(), before, "the controller allocated");
}

#[test]
fn the_allocation_check_itself_catches_an_allocation() {
    let before = violation_count();
    assert_no_alloc(|| {
        let v = std::hint::black_box(vec![1u8; 16]);
        drop(v);
    });
    assert!(violation_count() > before);
}
