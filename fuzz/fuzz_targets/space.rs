#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| canao_fuzz::space(data));
