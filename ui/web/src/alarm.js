// Sounds and flashes for what must not be missed: tones made by the page itself
// (WebAudio, no sound file), a flash of the screen, a mute that each screen keeps.
// Every alarm is kept in `rung` (why, about what, whether it was heard), so the
// browser tests check what sounded by state.

const PATTERNS = {
  // Rising: a new incident where life is at risk.
  p1: [[0, 660], [0.18, 880], [0.36, 1100]],
  // Two falling tones: a tier's clock can no longer be met by the units sent.
  at_risk: [[0, 880], [0.25, 660]],
  // Three short equal beeps: a unit has not accepted its assignment.
  unaccepted: [[0, 740], [0.15, 740], [0.3, 740]],
  // The handheld's new assignment: long, insistent.
  assignment: [[0, 880], [0.25, 660], [0.5, 880]],
};

export function createAlarm(screen) {
  const key = `commandd.mute.${screen}`;
  let muted = localStorage.getItem(key) === "1";
  let audio = null;
  const rung = [];
  const tone = (pattern) => {
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      for (const [at, f] of pattern) {
        const o = audio.createOscillator();
        const g = audio.createGain();
        o.frequency.value = f;
        g.gain.value = 0.3;
        o.connect(g).connect(audio.destination);
        o.start(audio.currentTime + at);
        o.stop(audio.currentTime + at + 0.14);
      }
      return true;
    } catch {
      return false; // no sound allowed before a tap: the flash still shows
    }
  };
  const flash = () => {
    document.body.classList.remove("flash");
    void document.body.offsetWidth; // restart the animation
    document.body.classList.add("flash");
    setTimeout(() => document.body.classList.remove("flash"), 1200);
  };
  return {
    rung,
    // ring sounds (unless muted) and flashes once for why (a PATTERNS name) about id.
    ring(why, id) {
      const heard = !muted && tone(PATTERNS[why] || PATTERNS.p1);
      rung.push({ why, id, muted, heard, at: Date.now() });
      if (rung.length > 200) rung.shift();
      flash();
    },
    muted: () => muted,
    setMuted(m) {
      muted = m;
      localStorage.setItem(key, m ? "1" : "0");
    },
  };
}
