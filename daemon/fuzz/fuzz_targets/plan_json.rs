//! Any bytes as a transition plan (JSON): parsed and run against a playing deck, or a serde
//! error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segue_mix::plan::TransitionPlan;
use segue_mix::runner::PlanRunner;

fuzz_target!(|data: &[u8]| {
    let Ok(plan) = serde_json::from_slice::<TransitionPlan>(data) else {
        return;
    };
    let mut r = PlanRunner::new(&plan, 0, 1, 48_000);
    let mut status = segue_engine_status();
    let mut out = Vec::new();
    for _ in 0..1_000 {
        out.clear();
        r.poll(&status, 4_800, &mut out);
        if r.done() {
            break;
        }
        status.frame += 4_800;
        status.decks[0].beat += 0.2;
    }
});

fn segue_engine_status() -> segue_engine::Status {
    let mut s = segue_engine::Status::default();
    s.sample_rate = 48_000;
    s.deck_count = 2;
    s.decks[0].loaded = true;
    s.decks[0].playing = true;
    s.decks[0].bpm = 124.0;
    s
}
