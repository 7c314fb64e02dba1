package org.phonelm.demo.app;

import org.phonelm.demo.core.Engine;
import org.phonelm.demo.core.ReplayEngine;

/**
 * Picks the engine the bundle was exported for. Engine modules are flavors: a build contains at
 * most one, so it is looked up by class name (and the replay engine is always there).
 */
final class EngineFactory {
    private EngineFactory() {}

    static final String[][] CLASSES = {
        {"gguf", "org.phonelm.demo.engine.llamacpp.LlamaCppEngine"},
        {"executorch", "org.phonelm.demo.engine.executorch.ExecuTorchEngine"},
        {"mlc", "org.phonelm.demo.engine.mlc.MlcEngine"},
    };

    /** The bundle's engine, or the replay engine with a note when this build does not contain it. */
    static Engine create(AppConfig cfg, StringBuilder note) throws Exception {
        String want = cfg.engine();
        for (String[] kv : CLASSES) {
            if (!kv[0].equals(want)) continue;
            Class<?> cls;
            try {
                cls = Class.forName(kv[1]);
            } catch (ClassNotFoundException e) {
                note.append("this build has no ").append(want).append(" engine (build the '")
                        .append(want.equals("gguf") ? "llamacpp" : want).append("' flavor); replaying recorded answers");
                return new ReplayEngine(cfg.replayAnswers());
            }
            return (Engine) cls.getConstructor(java.io.File.class, org.json.JSONObject.class).newInstance(cfg.bundleDir, cfg.json);
        }
        return new ReplayEngine(cfg.replayAnswers());
    }
}
