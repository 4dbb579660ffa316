package main

// Browser tests: the pages commandd serves, in a real Chromium (Debian's, driven by
// chromedp), against the real binary on loopback.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"commandd/fixtures/pgtest"
	"commandd/ui"
)

// newBrowser starts a headless Chromium for one test, or skips (fails where
// COMMANDD_REQUIRE_BROWSER is set, as in CI) when there is none or the pages'
// scripts are not built.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	required := os.Getenv("COMMANDD_REQUIRE_BROWSER") != ""
	path, err := exec.LookPath("chromium")
	if err != nil {
		if required {
			t.Fatal("chromium is required (COMMANDD_REQUIRE_BROWSER) but not found")
		}
		t.Skip("no chromium (apt-get install chromium)")
	}
	if !ui.Built() {
		if required {
			t.Fatal("the UI is not built into the binary (go generate ./ui)")
		}
		t.Skip("the UI is not built (go generate ./ui)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1600, 900), chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("enable-unsafe-swiftshader", true))
	// Chromium now and then exits before it listens on a loaded machine (once in
	// CI, in 0.3 s, with nothing on its stderr but the usual dbus lines): it is
	// started again, up to three times, before the test fails.
	for attempt := 1; attempt <= 3; attempt++ {
		actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
		if err = chromedp.Do(ctx); err == nil {
			t.Cleanup(cancel)
			t.Cleanup(cancel2)
			return ctx
		}
		cancel2()
		cancel()
		t.Logf("start chromium (attempt %d): %v", attempt, err)
		time.Sleep(time.Second)
	}
	t.Fatalf("start chromium: %v", err)
	return nil
}

// step is one browser action whose value, if any, is of no interest.
type step = chromedp.Action[chromedp.Void]

// browse runs browser steps, failing the test on error, within a minute.
func browse(t testing.TB, ctx context.Context, what string, steps ...step) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		// What the page knows, to see why.
		var state string
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = chromedp.Do(dctx, eval(`JSON.stringify({link: (document.querySelector('#link')||{}).textContent,
			state: (document.querySelector('#state')||{}).textContent, clock: window.commandd && commandd.clock && commandd.clock(),
			me: window.commandd && commandd.me && commandd.me(), job: window.commandd && commandd.job && commandd.job(),
			units: window.commandd && commandd.state && commandd.state.units.size})`, &state))
		t.Fatalf("%s: %v\npage: %s", what, err, state)
	}
}

// until waits for a JavaScript expression to be true.
func until(expr string) step {
	poll := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := poll(ctx, t)
		return chromedp.Void{}, err
	}
}

// eval evaluates a JavaScript expression into out.
func eval[T any](expr string, out *T, opts ...chromedp.EvaluateOption) step {
	ev := chromedp.Evaluate[T](expr, opts...)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := ev(ctx, t)
		*out = v
		return chromedp.Void{}, err
	}
}

func click(selector string) step { return chromedp.Click(chromedp.CSS(selector)) }

// screenshot keeps what the page shows in $COMMANDD_SCREENSHOTS (docs/screenshots
// holds the ones in the README), else in the test's temporary directory.
func screenshot(t *testing.T, name string) step {
	dir := os.Getenv("COMMANDD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := chromedp.CaptureScreenshot()
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		png, err := shot(ctx, tg)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
}

// placeUnits puts units on the roster around Huli and sends one fix each.
func placeUnits(s *server, n int) []string {
	var ids []string
	var fixes []string
	for i := range n {
		id := fmt.Sprintf("P-%02d", 20+i)
		mode := "car"
		if i%3 == 2 {
			mode = "foot"
		}
		s.must(200, "PUT", "/api/v1/units/"+id, tokOperator, fmt.Sprintf(`{"callsign":"湖里%d","force":"police","mode":%q}`, 20+i, mode))
		fixes = append(fixes, fmt.Sprintf(`{"unit":%q,"lat":%f,"lng":%f}`, id, 24.49+0.004*float64(i%5), 118.11+0.006*float64(i/5)))
		ids = append(ids, id)
	}
	s.must(202, "POST", "/api/v1/fixes", tokIngest, "["+strings.Join(fixes, ",")+"]")
	return ids
}

// TestBrowserWall: the wall shows the units and follows them as they move; an alert
// posted over HTTP appears in the queue with its three clocks and, selected, its
// assigned unit.
func TestBrowserWall(t *testing.T) {
	s := start(t, t.TempDir(), "--frame-rate", "5", "--camera-snapshots", "https://video.example.net")
	ids := placeUnits(s, 15)
	ctx := newBrowser(t)
	browse(t, ctx, "open the wall",
		chromedp.Navigate(s.base+"/?access_token="+tokOperator),
		until(fmt.Sprintf(`window.commandd && commandd.state.units.size === %d`, len(ids))),
		until(`commandd.map.loaded() && commandd.map.queryRenderedFeatures({layers: ["units"]}).length > 0`))

	// A handheld signs in with its unit's token: the wall counts it and marks its unit.
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"callsign":"湖里17","force":"police","mode":"car"}`)
	handheld := s.subscribe(tokUnitP17, `{"type":"subscribe","view":"unit"}`)
	handheld.expect("snapshot", nil)
	browse(t, ctx, "the handheld on line",
		until(`!!document.querySelector('#unit-counts [data-online]') && document.querySelector('#unit-counts [data-online]').textContent === '1'`))
	handheld.conn.Close()
	browse(t, ctx, "the handheld gone", until(`document.querySelector('#unit-counts [data-online]').textContent === '0'`))

	// Units move: the wall follows.
	s.must(202, "POST", "/api/v1/fixes", tokIngest, fmt.Sprintf(`[{"unit":%q,"lat":24.5123,"lng":118.1456,"speed":9,"heading":90}]`, ids[0]))
	browse(t, ctx, "follow a moving unit",
		until(fmt.Sprintf(`Math.abs(commandd.state.units.get(%q).lat - 24.5123) < 1e-6`, ids[0])))

	ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-B-1","lat":24.4950,"lng":118.1150,"category":"criminal","priority":1,"address":"湖里区 嘉禾路","text":"armed robbery in a shop"}`)
	inc := ans["incident"].(string)
	var clocks int
	var detail string
	browse(t, ctx, "the alert in the queue",
		until(fmt.Sprintf(`!!document.querySelector('#queue-rows .row[data-id=%q]')`, inc)),
		eval(fmt.Sprintf(`document.querySelectorAll('#queue-rows .row[data-id=%q] .clock').length`, inc), &clocks),
		eval(fmt.Sprintf(`(document.querySelector('#queue-rows .row[data-id=%q]').click(), true)`, inc), new(bool)),
		until(`document.querySelector('#detail-body').textContent.includes('派出')`),
		eval(`document.querySelector('#detail-body').textContent`, &detail),
		screenshot(t, "wall.png"))
	if clocks != 3 {
		t.Errorf("the queue shows %d clocks for %s, want 3", clocks, inc)
	}
	if !strings.Contains(detail, "armed robbery") || !strings.Contains(detail, "预计") || !strings.Contains(detail, "刑事") {
		t.Errorf("the selected incident shows %q", detail)
	}

	// A camera beside the scene sees it: its snapshot, from the camera platform the
	// server lets through, is shown with the evidence; one from elsewhere is a link.
	s.must(200, "PUT", "/api/v1/cameras/CAM-W1", tokIngest, `{"lat":24.4951,"lng":118.1151,"name":"嘉禾路口"}`)
	s.must(202, "POST", "/api/v1/camera-events", tokIngest,
		`{"id":"EV-W1","camera":"CAM-W1","type":"loitering","confidence":0.6,"snapshot":"https://video.example.net/snap/EV-W1.jpg"}`)
	s.must(202, "POST", "/api/v1/camera-events", tokIngest,
		`{"id":"EV-W2","camera":"CAM-W1","type":"crowd","confidence":0.6,"snapshot":"https://elsewhere.example.org/EV-W2.jpg"}`)
	browse(t, ctx, "camera evidence",
		until(`!!document.querySelector('#detail-body img.snapshot[src="https://video.example.net/snap/EV-W1.jpg"]')`),
		until(`!!document.querySelector('#detail-body a[href="https://elsewhere.example.org/EV-W2.jpg"]') && !document.querySelector('#detail-body img[src*="elsewhere"]')`))

	// A note, typed at the wall: on the incident and its timeline.
	// Focused first, as a click would: the panel does not redraw under a field being typed in,
	// so the field cannot be replaced between finding it and typing.
	browse(t, ctx, "add a note",
		until(`!!document.querySelector('#note-text') && (document.querySelector('#note-text').focus(), document.activeElement.id === 'note-text')`),
		chromedp.SendKeys("#note-text", "嫌疑人穿红色外套"),
		click(`#detail-body button[data-act="note"]`),
		until(`document.querySelector('#detail-body').textContent.includes('嫌疑人穿红色外套') && document.querySelector('#note-text').value === ""`))
	v := s.must(200, "GET", "/api/v1/incidents/"+inc, tokSupervisor, "")
	if notes, _ := v["notes"].([]any); len(notes) != 1 || notes[0].(map[string]any)["text"] != "嫌疑人穿红色外套" {
		t.Errorf("the note on the incident: %v", v["notes"])
	}

	// Send another unit: the engine's own ranking, soonest first, and the one chosen goes.
	var cands []string
	browse(t, ctx, "send another unit",
		click(`#detail-body button[data-act="pick"][data-tier="2"]`),
		until(`document.querySelectorAll('#detail-body tr.cand button[data-act="assign"]').length > 0`),
		eval(`[...document.querySelectorAll('#detail-body tr.cand')].map((r) => r.dataset.unit)`, &cands))
	ranked := s.must(200, "GET", "/api/v1/incidents/"+inc+"/candidates?tier=2&limit=8", tokOperator, "")
	var want []string
	for _, c := range ranked["candidates"].([]any) {
		want = append(want, c.(map[string]any)["unit"].(string))
	}
	if strings.Join(cands, ",") != strings.Join(want, ",") {
		t.Errorf("the wall offers %v, the engine ranks %v", cands, want)
	}
	var chosen string
	browse(t, ctx, "choose one",
		eval(`(() => { const b = document.querySelector('#detail-body tr.cand button[data-act="assign"]'); b.click(); return b.dataset.unit; })()`, &chosen),
		until(`!document.querySelector('#detail-body tr.cand')`))
	s.eventually("/api/v1/incidents/"+inc, func(m map[string]any) bool { return onTier(m, 2, chosen) })
}

// onTier reports whether an incident (as the API gives it) has unit on tier n.
func onTier(inc map[string]any, n int, unit string) bool {
	tiers, _ := inc["tiers"].([]any)
	if len(tiers) < n {
		return false
	}
	units, _ := tiers[n-1].(map[string]any)["units"].([]any)
	for _, u := range units {
		if u.(map[string]any)["unit"] == unit {
			return true
		}
	}
	return false
}

// TestBrowserHandheld: an officer's handheld gets an assignment (the alarm's blinking
// card), accepts it and walks it through en route, on scene and clear; the device's
// GPS reaches the server.
func TestBrowserHandheld(t *testing.T) {
	s := start(t, t.TempDir())
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"callsign":"湖里巡17","force":"police","mode":"car"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, `[{"unit":"P-17","lat":24.5000,"lng":118.1225}]`)
	ctx := newBrowser(t)
	lat, lng, acc := 24.5003, 118.1221, 8.0
	if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "geolocation"}, Setting: browser.PermissionSettingGranted, Origin: s.base}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
		Latitude: &lat, Longitude: &lng, Accuracy: &acc}); err != nil {
		t.Fatal(err)
	}
	browse(t, ctx, "open the handheld",
		chromedp.EmulateViewport(430, 900, chromedp.EmulateMobile, chromedp.EmulateTouch), // a phone
		chromedp.Navigate(s.base+"/handheld.html?access_token="+tokUnitP17),
		until(`window.commandd && commandd.me() && commandd.me().id === "P-17"`))
	s.eventually("/api/v1/units/P-17", func(m map[string]any) bool { return m["lat"].(float64) == 24.5003 })

	ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-H-9","lat":24.5010,"lng":118.1230,"category":"dispute","priority":2,"address":"湖里区 华昌路","text":"neighbours fighting"}`)
	inc := ans["incident"].(string)
	step := func(button, status string) {
		t.Helper()
		browse(t, ctx, "press "+button,
			click("#"+button),
			until(fmt.Sprintf(`commandd.me().status === %q`, status)))
	}
	browse(t, ctx, "the assignment arrives",
		until(fmt.Sprintf(`commandd.job() && commandd.job().incident === %q`, inc)),
		until(`document.querySelector('#job').classList.contains('new')`),
		until(`!!document.querySelector('#minimap circle.me') && !!document.querySelector('#minimap circle.scene')`),
		screenshot(t, "handheld.png"),
		click("#accept"),
		until(`!document.querySelector('#job').classList.contains('new')`),
		until(`commandd.me().status === "accepted"`))
	accepted := s.must(200, "GET", "/api/v1/incidents/"+inc, tokSupervisor, "")
	if u := accepted["tiers"].([]any)[0].(map[string]any)["units"].([]any)[0].(map[string]any); u["accepted"] == nil {
		t.Errorf("accepted on the handheld, but the incident's tier 1 says %v", u)
	}
	if tl := fmt.Sprint(accepted["timeline"]); !strings.Contains(tl, "accepted") {
		t.Errorf("the timeline does not say who accepted: %s", tl)
	}
	step("enroute", "enroute")
	step("onscene", "onscene")
	v := s.must(200, "GET", "/api/v1/incidents/"+inc, tokSupervisor, "")
	if tier := v["tiers"].([]any)[0].(map[string]any); tier["state"] != "met" {
		t.Errorf("on scene from the handheld: tier 1 %v", tier["state"])
	}
	// Cleared, the unit is free again; this district has no other car, so the engine
	// sends it straight back for the support tier, and the handheld rings again.
	browse(t, ctx, "press clear", click("#clear"),
		until(`commandd.job() && commandd.job().tier === 2 && !commandd.job().accepted`))
	v = s.must(200, "GET", "/api/v1/incidents/"+inc, tokSupervisor, "")
	if u := v["tiers"].([]any)[0].(map[string]any)["units"].([]any)[0].(map[string]any); u["cleared"] == nil {
		t.Errorf("cleared from the handheld, but the incident's tier 1 says %v", u)
	}
	// Cleared from tier 2 too, it is sent on to tier 3, around the scene: the handheld
	// sends it to its post, and says so.
	browse(t, ctx, "to the perimeter",
		click("#accept"), until(`commandd.me().status === "accepted"`),
		click("#enroute"), until(`commandd.me().status === "enroute"`),
		click("#onscene"), until(`commandd.me().status === "onscene"`),
		click("#clear"),
		until(`commandd.job() && commandd.job().tier === 3 && commandd.target() && commandd.target().post`),
		until(`!!document.querySelector('#job .goal.post') && !!document.querySelector('#minimap rect.post')`),
		screenshot(t, "handheld-post.png"))
}

// TestBrowserReplay: a supervisor replays a closed incident: it plays, pauses, and
// seeks on the timeline.
func TestBrowserReplay(t *testing.T) {
	s := start(t, t.TempDir())
	placeUnits(s, 6)
	ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-R-1","lat":24.4950,"lng":118.1150,"category":"traffic","priority":2,"text":"collision"}`)
	inc := ans["incident"].(string)
	received := time.Now()
	time.Sleep(2 * time.Second)
	s.must(201, "POST", "/api/v1/incidents/"+inc+"/notes", tokOperator, `{"text":"两车追尾，无人受伤"}`)
	time.Sleep(time.Second)
	s.must(200, "POST", "/api/v1/incidents/"+inc+"/close", tokOperator, `{"disposition":"cleared"}`)
	ctx := newBrowser(t)
	mid := received.Add(1500 * time.Millisecond)
	var before string
	browse(t, ctx, "replay, pause",
		chromedp.Navigate(s.base+"/replay.html?speed=60&incident="+inc+"&access_token="+tokSupervisor),
		until(`window.commandd && commandd.clock() && commandd.state.units.size === 6`),
		click("#play"),
		until(`commandd.clock().paused`),
		eval(`commandd.clock().t`, &before))
	browse(t, ctx, "seek",
		// On the timeline, halfway between the call and the close (the slider's
		// steps are a thousandth of the window: a third of a second here).
		eval(fmt.Sprintf(`(() => { const c = commandd.clock(), from = Date.parse(c.from), to = Date.parse(c.to);
			const r = document.querySelector('#seek'); r.value = Math.round(1000 * (%d - from) / (to - from));
			r.dispatchEvent(new Event('change')); return true; })()`, mid.UnixMilli()), new(bool)),
		until(fmt.Sprintf(`Math.abs(Date.parse(commandd.clock().t) - %d) < 1500 && commandd.clock().t !== %q && commandd.clock().paused
			&& commandd.state.units.size === 6`, mid.UnixMilli(), before)),
		until(fmt.Sprintf(`!!document.querySelector('#detail-body') && document.querySelector('#detail-body').textContent.includes(%q)`, inc)),
		screenshot(t, "replay.png"))
	// At the end of the window the note is there, with who wrote it, as at the wall.
	browse(t, ctx, "the note in the replay",
		eval(`(() => { const r = document.querySelector('#seek'); r.value = 1000; r.dispatchEvent(new Event('change')); return true; })()`, new(bool)),
		until(`document.querySelector('#detail-body').textContent.includes('两车追尾，无人受伤') && document.querySelector('#detail-body').textContent.includes('operator')`))
}

// TestBrowserDemo: the README's first command, seen on the wall, with incidents no one
// called in (a camera saw a fight) and second callers among them: the queue holds what
// the API says is open, the clock moves, today's figures are numbers, and a panel that
// fails on something it cannot read says so while the others go on. Then the 1-minute
// coverage layer, for the screenshot.
func TestBrowserDemo(t *testing.T) {
	s := start(t, t.TempDir(), "--demo") // at the demo's own rate: the first call comes at once
	ctx := newBrowser(t)
	browse(t, ctx, "the demo on the wall",
		chromedp.Navigate(s.base+"/?access_token="+tokOperator),
		until(`window.commandd && commandd.state.units.size >= 700`))
	browse(t, ctx, "the first incident", until(`commandd.state.incidents.size >= 1`))
	var cams []map[string]any
	for deadline := time.Now().Add(30 * time.Second); len(cams) < 1000; time.Sleep(200 * time.Millisecond) {
		_, m := s.do("GET", "/api/v1/cameras", tokOperator, "")
		if err := json.Unmarshal([]byte(m["_raw"].(string)), &cams); err != nil || time.Now().After(deadline) {
			t.Fatalf("the demo's cameras: %d, %v", len(cams), err)
		}
	}
	var raised []string
	for i, cam := range cams[:3] {
		ans := s.must(202, "POST", "/api/v1/camera-events", tokIngest,
			fmt.Sprintf(`{"id":"EV-WALL-%d","camera":%q,"type":"fight","confidence":0.95}`, i, cam["id"]))
		if inc, _ := ans["incident"].(string); inc != "" {
			raised = append(raised, inc)
		}
		// A second caller for the same fight joins it.
		s.must(201, "POST", "/api/v1/alerts", tokIngest, fmt.Sprintf(`{"id":"110-WALL-%d","lat":%v,"lng":%v,"category":"public_order","priority":2,"text":"打架"}`,
			i, cam["lat"], cam["lng"]))
	}
	if len(raised) == 0 {
		t.Fatal("no camera raised an incident")
	}
	openIDs := func() string {
		var list []map[string]any
		_, m := s.do("GET", "/api/v1/incidents?status=open", tokOperator, "")
		_ = json.Unmarshal([]byte(m["_raw"].(string)), &list)
		var ids []string
		for _, inc := range list {
			ids = append(ids, inc["id"].(string))
		}
		slices.Sort(ids)
		return strings.Join(ids, ",")
	}
	var onWall, inAPI, count string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		browse(t, ctx, "read the queue", eval(`[...document.querySelectorAll('#queue-rows .row')].map((r) => r.dataset.id).sort().join(",")`, &onWall),
			eval(`document.querySelector('#open-count').textContent`, &count))
		inAPI = openIDs()
		if onWall == inAPI && strings.Contains(count, fmt.Sprint(strings.Count(inAPI, ",")+1)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wall's queue %q (%s) never matched the open incidents %q", onWall, count, inAPI)
		}
	}
	var before, after string
	browse(t, ctx, "the clock moves, the figures are numbers",
		eval(`document.querySelector('#now').textContent`, &before),
		chromedp.Sleep(1500*time.Millisecond),
		eval(`document.querySelector('#now').textContent`, &after),
		eval(`commandd.figures().then(() => true)`, new(bool), chromedp.EvalAwaitPromise),
		until(`/^[\d,]+$/.test(document.querySelector('#f-alerts').textContent) && /^[\d,]+$/.test(document.querySelector('#f-incidents').textContent)`))
	if before == after || !regexp.MustCompile(`^\d\d:\d\d:\d\d$`).MatchString(after) {
		t.Errorf("the wall's clock: %q then %q", before, after)
	}
	// A panel meets what it cannot draw (an incident whose time is no time): it says
	// so, the clock and the other panels go on, and once the incident is gone it draws
	// again.
	browse(t, ctx, "a failing panel",
		eval(`(commandd.state.incidents.set("INC-BROKEN", {id: "INC-BROKEN", priority: 2, tiers: [], received: Symbol("no time")}), commandd.state.version++, true)`, new(bool)),
		until(`!!document.querySelector('#queue-rows .panel-error') && commandd.panelErrors.length > 0`),
		eval(`document.querySelector('#now').textContent`, &before),
		chromedp.Sleep(1500*time.Millisecond),
		until(fmt.Sprintf(`document.querySelector('#now').textContent !== %q && document.querySelectorAll('#unit-counts b').length > 0`, before)),
		eval(`(commandd.state.incidents.delete("INC-BROKEN"), commandd.state.version++, true)`, new(bool)),
		until(`!document.querySelector('#queue-rows .panel-error') && document.querySelectorAll('#queue-rows .row').length > 0`))
	browse(t, ctx, "the coverage layer",
		click(`#layers button[data-layer="cover0"]`),
		eval(fmt.Sprintf(`(commandd.select(%q), true)`, raised[0]), new(bool)),
		until(`commandd.map.loaded() && commandd.map.queryRenderedFeatures({layers: ["hex"]}).length > 0`),
		chromedp.Sleep(2*time.Second), // units move, clocks tick
		screenshot(t, "demo.png"))
}

// TestBrowserWallSounds: the wall sounds and flashes for a new priority-1 incident, a
// tier at risk and an assignment not accepted within 30 s (the server's clock runs
// 20x, so that is 1.5 s here), once each; muted, it flashes and stays silent.
func TestBrowserWallSounds(t *testing.T) {
	s := start(t, t.TempDir(), "--time-scale", "20")
	placeUnits(s, 3)
	ctx := newBrowser(t)
	browse(t, ctx, "open the wall",
		chromedp.Navigate(s.base+"/?access_token="+tokOperator),
		until(`window.commandd && commandd.state.units.size === 3`))
	ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-S-1","lat":24.4950,"lng":118.1150,"category":"criminal","priority":1,"text":"armed robbery"}`)
	p1 := ans["incident"].(string)
	rung := func(why, id string) string {
		return fmt.Sprintf(`commandd.rung.filter((r) => r.why === %q && r.id === %q)`, why, id)
	}
	browse(t, ctx, "a new priority 1",
		until(rung("p1", p1)+`.length === 1`),
		until(rung("unaccepted", p1)+`.length >= 1`),
		until(`!!document.querySelector('#queue-rows .row.late')`))
	// Far out at sea no unit makes a minute: at risk.
	ans = s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-S-2","lat":24.30,"lng":118.40,"category":"traffic","priority":3,"text":"boat"}`)
	far := ans["incident"].(string)
	browse(t, ctx, "a tier at risk", until(rung("at_risk", far)+`.length === 1`))
	var muted bool
	browse(t, ctx, "mute, then another",
		click("#mute"),
		eval(`commandd.rung.length`, new(int)))
	ans = s.must(201, "POST", "/api/v1/alerts", tokIngest,
		`{"id":"110-S-3","lat":24.5050,"lng":118.1250,"category":"fire","priority":1,"text":"smoke"}`)
	browse(t, ctx, "muted",
		until(rung("p1", ans["incident"].(string))+`.length === 1`),
		eval(rung("p1", ans["incident"].(string))+`[0].muted && !`+rung("p1", ans["incident"].(string))+`[0].heard`, &muted))
	if !muted {
		t.Error("a muted wall still sounded")
	}
	var again int
	browse(t, ctx, "once each", chromedp.Sleep(time.Second), eval(rung("p1", p1)+`.length`, &again))
	if again != 1 {
		t.Errorf("the priority-1 incident rang %d times", again)
	}
}

// BenchmarkWall5000Units: the wall screen with 5,000 units moving at 1 Hz (one fix
// each a second, as gateways send them): frames the browser paints a second, and the
// time the page spends drawing the map and panels (twice a second at most, with the
// clocks four times). Chromium here renders WebGL in software (SwiftShader) on the same
// two vCPUs as the server and the fixes: a floor, not what a wall's GPU does.
func BenchmarkWall5000Units(b *testing.B) {
	s := start(b, b.TempDir(), "--rate", "100000", "--log-sync", "1s")
	const n = 5000
	for i := range n {
		s.must(200, "PUT", fmt.Sprintf("/api/v1/units/U-%04d", i), tokOperator, `{"force":"patrol","mode":"foot"}`)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { // every unit moves a little every second
		for tick := 0; ctx.Err() == nil; tick++ {
			var fixes []string
			for i := range n {
				lat := 24.45 + 0.09*float64(i%71)/71 + 0.0002*float64(tick%20)
				lng := 118.07 + 0.14*float64(i/71)/71 + 0.0001*float64(tick%13)
				fixes = append(fixes, fmt.Sprintf(`{"unit":"U-%04d","lat":%.6f,"lng":%.6f,"speed":1.4,"heading":%d}`, i, lat, lng, (tick*17+i)%360))
			}
			s.do("POST", "/api/v1/fixes", tokIngest, "["+strings.Join(fixes, ",")+"]")
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	bctx := newBrowser(b)
	browse(b, bctx, "open the wall",
		chromedp.Navigate(s.base+"/?access_token="+tokOperator),
		until(fmt.Sprintf(`window.commandd && commandd.state.units.size === %d && commandd.map.loaded()`, n)))
	var fps, drawMs, maxMs float64
	for b.Loop() {
		var got struct{ Frames, Draws, DrawMs, MaxDrawMs float64 }
		browse(b, bctx, "measure",
			eval(`(() => { Object.assign(commandd.stats, {frames: 0, draws: 0, drawMs: 0, maxDrawMs: 0}); return true; })()`, new(bool)),
			chromedp.Sleep(5*time.Second),
			eval(`({Frames: commandd.stats.frames, Draws: commandd.stats.draws, DrawMs: commandd.stats.drawMs, MaxDrawMs: commandd.stats.maxDrawMs})`, &got))
		fps += got.Frames / 5
		drawMs += got.DrawMs / max(got.Draws, 1)
		maxMs = max(maxMs, got.MaxDrawMs)
	}
	b.ReportMetric(fps/float64(b.N), "frames/s")
	b.ReportMetric(drawMs/float64(b.N), "draw-ms")
	b.ReportMetric(maxMs, "max-draw-ms")
}

// TestBrowserWallRestart: the wall rides out a restart of the server: it reconnects by
// itself and shows what happens after.
func TestBrowserWallRestart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	s := start(t, dir, "--listen", addr)
	ids := placeUnits(s, 3)
	ctx := newBrowser(t)
	browse(t, ctx, "open the wall",
		chromedp.Navigate(s.base+"/?access_token="+tokOperator),
		until(`window.commandd && commandd.state.units.size === 3 && document.querySelector('#link').className === "open"`))
	s.stop()
	browse(t, ctx, "the wall sees the server go", until(`document.querySelector('#link').className === "closed"`))
	s = start(t, dir, "--listen", addr)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, fmt.Sprintf(`[{"unit":%q,"lat":24.5077,"lng":118.1333}]`, ids[1]))
	browse(t, ctx, "back, and current",
		until(`document.querySelector('#link').className === "open"`),
		until(fmt.Sprintf(`Math.abs(commandd.state.units.get(%q).lat - 24.5077) < 1e-6`, ids[1])))
}

// TestBrowserWallGrids: on a district with management grids the wall has a layer of
// them, outlined and named once zoomed in.
func TestBrowserWallGrids(t *testing.T) {
	s := start(t, t.TempDir(), "--district", exampleDistrict)
	ctx := newBrowser(t)
	browse(t, ctx, "the grids layer",
		chromedp.Navigate(s.base+"/?access_token="+tokOperator),
		until(`!!document.querySelector('#layers button[data-grids]') && !document.querySelector('#layers button[data-grids]').hidden`),
		click(`#layers button[data-grids]`),
		until(`commandd.map.loaded() && commandd.map.getLayoutProperty("grids", "visibility") === "visible"`),
		eval(`(commandd.map.jumpTo({center: [118.13, 24.53], zoom: 13.5}), true)`, new(bool)),
		until(`document.querySelectorAll('.grid-label').length === 2 && [...document.querySelectorAll('.grid-label')].some((l) => l.textContent === "湖里网格001")`))
}

// TestBrowserReport: the supervisor's report card, from the history of a district with
// grids: the period's alerts by category and the tiers, in Chinese, ready to print.
func TestBrowserReport(t *testing.T) {
	db := pgtest.Database(t)
	s := start(t, t.TempDir(), "--pg", db, "--district", exampleDistrict)
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"force":"police","mode":"car"}`)
	s.must(202, "POST", "/api/v1/fixes", tokIngest, `[{"unit":"P-17","lat":24.5200,"lng":118.1400}]`)
	for i, cat := range []string{"criminal", "traffic", "criminal"} {
		ans := s.must(201, "POST", "/api/v1/alerts", tokIngest,
			fmt.Sprintf(`{"id":"110-RC-%d","lat":%f,"lng":118.14,"category":%q,"priority":3}`, i, 24.51+0.01*float64(i), cat))
		s.must(200, "POST", "/api/v1/incidents/"+ans["incident"].(string)+"/close", tokOperator, `{"disposition":"done"}`)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		m := s.must(200, "GET", "/api/v1/history/incidents", tokSupervisor, "")
		if list, _ := m["incidents"].([]any); len(list) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the history never held the 3 incidents: %v", m)
		}
	}
	ctx := newBrowser(t)
	browse(t, ctx, "the report card",
		chromedp.Navigate(s.base+"/report.html?access_token="+tokSupervisor),
		until(`!!(window.commandd && commandd.report && commandd.report.alerts && commandd.report.alerts.total === 3)`),
		until(`document.querySelector('#category-rows').textContent.includes('刑事') && document.querySelectorAll('#categories rect').length >= 4`),
		screenshot(t, "report.png"))
}

// TestBrowserSignedOut: a page takes its token out of the address bar; a handheld whose
// token is revoked stops, says so and asks for a token again, the wall says so too.
func TestBrowserSignedOut(t *testing.T) {
	s := start(t, t.TempDir())
	s.must(200, "PUT", "/api/v1/units/P-17", tokOperator, `{"callsign":"湖里17","force":"police","mode":"car"}`)
	unit := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"unit","unit":"P-17"}`)
	op := s.must(201, "POST", "/api/v1/tokens", tokAdmin, `{"role":"operator"}`)
	hand, wall := newBrowser(t), newBrowser(t)
	browse(t, hand, "the handheld signed in",
		chromedp.Navigate(s.base+"/handheld.html?lang=en&access_token="+unit["token"].(string)),
		until(`document.querySelector('#link').className === 'open'`),
		until(`!location.search.includes('access_token') && location.search.includes('lang=en')`))
	browse(t, wall, "the wall signed in",
		chromedp.Navigate(s.base+"/?access_token="+op["token"].(string)),
		until(`document.querySelector('#link').className === 'open' && !location.search.includes('access_token')`))
	s.must(200, "DELETE", "/api/v1/tokens/"+unit["id"].(string), tokAdmin, "")
	s.must(200, "DELETE", "/api/v1/tokens/"+op["id"].(string), tokAdmin, "")
	browse(t, hand, "the handheld asks for a token again",
		until(`document.querySelector('#link').className === 'signedout' && !document.querySelector('#sign-in').hidden`))
	browse(t, wall, "the wall says its token is gone",
		until(`document.querySelector('#link').className === 'signedout'`))
}

// TestBrowserMoveUp: the wall draws a recommended move-up (the line to the post, and
// the list with what it gains); the operator sends it there, and the car's handheld
// says where to go.
func TestBrowserMoveUp(t *testing.T) {
	s, rec := moveUpWorld(t)
	wall, hand := newBrowser(t), newBrowser(t)
	browse(t, hand, "the handheld",
		chromedp.Navigate(s.base+"/handheld.html?access_token="+tokUnitP17),
		until(`document.querySelector('#link').className === 'open'`))
	browse(t, wall, "the wall shows the move-up",
		chromedp.Navigate(s.base+"/?access_token="+tokOperator),
		until(`window.commandd && commandd.state.moveups.length === 1 && !!document.querySelector('#moveups button[data-act=moveup]')`),
		until(`document.querySelector('#moveups').textContent.includes('覆盖 +')`),
		until(`commandd.map.loaded() && commandd.map.queryRenderedFeatures({layers: ["posts"]}).length === 1`),
		eval(`document.querySelector('#moveups button[data-act=moveup]').dispatchEvent(new PointerEvent('pointerdown', {bubbles: true})), true`, new(bool)),
		until(`commandd.state.moveups.length === 1 && commandd.state.moveups[0].sent === true`),
		until(`!document.querySelector('#moveups button[data-act=moveup]')`))
	var post map[string]any
	browse(t, hand, "the handheld says where to go",
		until(`!!commandd.moveup() && document.querySelector('#job h2').classList.contains('moveto')`),
		eval(`commandd.moveup()`, &post),
		screenshot(t, "handheld-moveup.png"))
	if post["cell"] != rec["cell"] {
		t.Errorf("the handheld goes to %v, the engine recommended %v", post, rec)
	}
}
