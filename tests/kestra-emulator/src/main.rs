fn main() {
    println!("kestra-emulator: binary not wired yet");
}
