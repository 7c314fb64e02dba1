package org.phonelm.demo.core;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a parsed model output call by call, resolving nested resultN references to what the
 * earlier call actually returned. Errors are per call: only calls that use a failed call's
 * result fail with it. The twin of {@code plan()} in mapper.py.
 */
public final class Planner {
    private final IntentMapper mapper;

    public Planner(IntentMapper mapper) {
        this.mapper = mapper;
    }

    public List<Step> plan(List<Call> calls, Device device, String zone) {
        try {
            ZoneId.of(zone);
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("unknown time zone '" + zone + "'");
        }
        Map<Integer, Step> steps = new HashMap<Integer, Step>();
        Map<Integer, Object> results = new HashMap<Integer, Object>();
        List<Step> out = new ArrayList<Step>();
        boolean dry = device.dryRun();
        for (Call call : calls) {
            Step step = new Step(call.id, call.name);
            try {
                @SuppressWarnings("unchecked")
                Map<String, Object> args = (Map<String, Object>) resolve(call.arguments, results, steps, call.name, dry);
                Object action = mapper.map(call.name, args, zone);
                if (action instanceof IntentSpec) {
                    step.intent = (IntentSpec) action;
                    step.result = device.start(call.id, call.name, step.intent);
                } else {
                    step.query = (ContactQuery) action;
                    step.result = device.query(step.query);
                }
                if (dry && (step.intent == null || step.intent.returns != null)) step.result = "result" + call.id;
            } catch (MappingException e) {
                step.error = e;
            }
            steps.put(call.id, step);
            results.put(call.id, step.result);
            out.add(step);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Object resolve(Object v, Map<Integer, Object> results, Map<Integer, Step> steps, String fn, boolean dry)
            throws MappingException {
        if (v instanceof ResultRef) {
            int n = ((ResultRef) v).n;
            Step step = steps.get(n);
            if (dry) {
                if (step != null && step.error != null)
                    throw new MappingException("unresolved_reference", fn + "(): result" + n + " is not available (that call failed)");
                return "result" + n;
            }
            if (step == null) throw new MappingException("unresolved_reference", fn + "(): result" + n + " does not exist");
            if (step.error != null)
                throw new MappingException("unresolved_reference", fn + "(): result" + n + " is not available (that call failed)");
            Object value = results.get(n);
            if (value == null)
                throw new MappingException("unresolved_reference", fn + "(): result" + n + " has no value (" + step.function + " returned nothing)");
            return value;
        }
        if (v instanceof List) {
            List<Object> out = new ArrayList<Object>();
            for (Object x : (List<Object>) v) out.add(resolve(x, results, steps, fn, dry));
            return out;
        }
        if (v instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<String, Object>();
            for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) out.put(e.getKey(), resolve(e.getValue(), results, steps, fn, dry));
            return out;
        }
        return v;
    }
}
