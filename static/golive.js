// Panel's jscallback of each widget of a static page's URL state (go = false) and of each
// control greyed out for needing the server (go = true); components/texts.py puts the line
// `const go = ...` before this code. The page's link script (static/golive-load.js,
// window.bpxLink) does the work:
// - go: with a live app behind the page (a meta tag named bpx-live), the same page opens
//   live where the student was (its state in the live address's query, and live=1);
// - else the page's state is written into its own address, as the live page writes its own.
if (window.bpxLink) window.bpxLink[go ? "goLive" : "write"](cb_obj.document)
