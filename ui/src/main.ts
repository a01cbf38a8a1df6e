import { mount } from "svelte";
import "./app.css";
import "./lib/components/tones.css";
import App from "./App.svelte";
import { api } from "./lib/api/commands";

const app = mount(App, { target: document.getElementById("app")! });

// Tell the shell when the first frame is on screen (its startup benchmark reads this).
requestAnimationFrame(() => requestAnimationFrame(() => void api.appReady().catch(() => undefined)));

export default app;
