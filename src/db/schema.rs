//! Diesel table definitions, shared by both backends (see the migrations trees).

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        entity_type -> Text,
        entity_id -> Text,
        action -> Text,
        actor -> Text,
        occurred_at -> Timestamp,
        changes -> Text,
        position -> Nullable<BigInt>,
    }
}

diesel::table! {
    attribute_definitions (id) {
        id -> Text,
        entity_kind -> Text,
        scope -> Text,
        key -> Text,
        label -> Text,
        data_type -> Text,
        required -> Bool,
        options -> Nullable<Text>,
        description -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    attribute_values (entity_kind, entity_id, key) {
        entity_kind -> Text,
        entity_id -> Text,
        key -> Text,
        value_text -> Nullable<Text>,
        value_num -> Nullable<Double>,
    }
}

diesel::table! {
    contracts (id) {
        id -> Text,
        number -> Text,
        title -> Text,
        search_text -> Text,
        contract_type -> Text,
        customer_ref -> Text,
        customer_name -> Nullable<Text>,
        status -> Text,
        start_date -> Date,
        term_months -> Nullable<Integer>,
        total_term_months -> Nullable<Integer>,
        end_date -> Nullable<Date>,
        auto_renew -> Bool,
        renewal_term_months -> Nullable<Integer>,
        notice_period -> Nullable<Text>,
        notice_deadline -> Nullable<Date>,
        signed_at -> Nullable<Timestamp>,
        terminated_on -> Nullable<Date>,
        termination_reason -> Nullable<Text>,
        external_ref -> Nullable<Text>,
        parent_id -> Nullable<Text>,
        attributes -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        service_level -> Nullable<Text>,
        owner_kind -> Nullable<Text>,
        owner_name -> Nullable<Text>,
        effective_owner_kind -> Nullable<Text>,
        effective_owner_name -> Nullable<Text>,
        reminders -> Nullable<Text>,
    }
}

diesel::table! {
    contract_reminders (contract_id, reminder, deadline) {
        contract_id -> Text,
        reminder -> Text,
        deadline -> Date,
        task_id -> Text,
        fired_at -> Timestamp,
    }
}

diesel::table! {
    installations (id) {
        id -> Text,
        serial_number -> Text,
        name -> Text,
        search_text -> Text,
        installation_type -> Text,
        customer_ref -> Text,
        location -> Text,
        installed_at -> Nullable<Date>,
        status -> Text,
        parent_id -> Nullable<Text>,
        external_ref -> Nullable<Text>,
        attributes -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    coverages (id) {
        id -> Text,
        contract_id -> Text,
        installation_id -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        contract_type -> Text,
    }
}

diesel::table! {
    obligations (id) {
        id -> Text,
        contract_id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        kind -> Text,
        assignee_kind -> Text,
        assignee_name -> Text,
        due_date -> Nullable<Date>,
        rrule -> Nullable<Text>,
        exdates -> Text,
        anchor_date -> Nullable<Date>,
        lead_days -> Integer,
        scope -> Text,
        horizon_months -> Integer,
        generated_on -> Nullable<Date>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        regenerate_on -> Date,
    }
}

diesel::table! {
    tasks (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        description -> Nullable<Text>,
        status -> Text,
        assignee_kind -> Text,
        assignee_name -> Text,
        due_date -> Date,
        contract_id -> Nullable<Text>,
        installation_id -> Nullable<Text>,
        obligation_id -> Nullable<Text>,
        occurrence_key -> Nullable<Text>,
        nominal_date -> Nullable<Date>,
        rescheduled -> Bool,
        reassigned -> Bool,
        notes -> Nullable<Text>,
        result_note -> Nullable<Text>,
        started_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        service_call_id -> Nullable<Text>,
        workflow_instance_id -> Nullable<Text>,
        dossier_id -> Nullable<Text>,
    }
}

diesel::table! {
    feed_tokens (id) {
        id -> Text,
        token_hash -> Text,
        sub -> Text,
        roles -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    service_calls (id) {
        id -> Text,
        number -> Text,
        installation_id -> Text,
        customer_ref -> Text,
        entitled -> Bool,
        contract_id -> Nullable<Text>,
        service_level -> Nullable<Text>,
        service_level_source -> Nullable<Text>,
        priority -> Text,
        status -> Text,
        title -> Text,
        description -> Nullable<Text>,
        reporter -> Nullable<Text>,
        channel -> Text,
        external_ref -> Nullable<Text>,
        reported_at -> Timestamp,
        respond_by -> Nullable<Timestamp>,
        respond_risk_at -> Nullable<Timestamp>,
        resolve_by -> Nullable<Timestamp>,
        resolve_risk_at -> Nullable<Timestamp>,
        acknowledged_at -> Nullable<Timestamp>,
        on_hold_since -> Nullable<Timestamp>,
        hold_reason -> Nullable<Text>,
        paused_seconds -> BigInt,
        resolved_at -> Nullable<Timestamp>,
        resolution -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (owner, idempotency_key) {
        owner -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        state -> Text,
        locked_until -> Timestamp,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dossier_types (id) {
        id -> Text,
        key -> Text,
        name -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dossier_type_versions (type_id, version) {
        type_id -> Text,
        version -> BigInt,
        name -> Text,
        description -> Nullable<Text>,
        attributes -> Text,
        default_owner_kind -> Nullable<Text>,
        default_owner_name -> Nullable<Text>,
        rules -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    workflows (id) {
        id -> Text,
        key -> Text,
        name -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    workflow_versions (workflow_id, version) {
        workflow_id -> Text,
        version -> BigInt,
        name -> Text,
        description -> Nullable<Text>,
        steps -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dossiers (id) {
        id -> Text,
        type_id -> Text,
        type_key -> Text,
        type_version -> BigInt,
        customer_ref -> Text,
        contract_id -> Nullable<Text>,
        owner_kind -> Text,
        owner_name -> Text,
        status -> Text,
        attributes -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dossier_date_triggers (dossier_id, rule_key) {
        dossier_id -> Text,
        rule_key -> Text,
        due_on -> Date,
        status -> Text,
        fired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dossier_business_events (id) {
        id -> Text,
        dossier_id -> Text,
        event_type -> Text,
        data -> Text,
        idempotency_key -> Nullable<Text>,
        posted_by -> Text,
        posted_at -> Timestamp,
    }
}

diesel::table! {
    workflow_instances (id) {
        id -> Text,
        dossier_id -> Text,
        workflow_id -> Text,
        workflow_key -> Text,
        workflow_version -> BigInt,
        status -> Text,
        current_step -> Nullable<Text>,
        responsible_kind -> Text,
        responsible_name -> Text,
        rule_key -> Nullable<Text>,
        started_by -> Text,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    workflow_instance_steps (instance_id, seq) {
        instance_id -> Text,
        seq -> Integer,
        step_key -> Text,
        name -> Text,
        task_id -> Nullable<Text>,
        status -> Text,
        outcome -> Nullable<Text>,
        assignee_kind -> Text,
        assignee_name -> Text,
        due_date -> Date,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_by -> Nullable<Text>,
    }
}

diesel::table! {
    rule_firings (id) {
        id -> Text,
        dossier_id -> Text,
        rule_key -> Text,
        occurrence_key -> Text,
        trigger_kind -> Text,
        type_version -> BigInt,
        details -> Text,
        workflow_instance_id -> Nullable<Text>,
        fired_by -> Text,
        fired_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Text,
        secret -> Text,
        active -> Bool,
        last_event_id -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        failing_since -> Nullable<Timestamp>,
        paused_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> BigInt,
        event_type -> Text,
        attempts -> Integer,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        next_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        skipped_at -> Nullable<Timestamp>,
        skipped_by -> Nullable<Text>,
    }
}

diesel::table! {
    event_markers (entity_type, entity_id, kind) {
        entity_type -> Text,
        entity_id -> Text,
        kind -> Text,
        event_id -> BigInt,
    }
}

diesel::table! {
    sweep_marks (name) {
        name -> Text,
        mark -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        owner_type -> Text,
        owner_id -> Text,
        kind -> Text,
        title -> Text,
        external_ref -> Nullable<Text>,
        current_version -> Integer,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<Text>,
    }
}

diesel::table! {
    document_blobs (sha256) {
        sha256 -> Text,
        claims -> BigInt,
        check_at -> Nullable<Timestamp>,
        releasing_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    document_versions (document_id, number) {
        document_id -> Text,
        number -> Integer,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        purged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    document_templates (id) {
        id -> Text,
        key -> Text,
        name -> Text,
        body -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(coverages -> contracts (contract_id));
diesel::joinable!(coverages -> installations (installation_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(document_versions -> documents (document_id));

diesel::allow_tables_to_appear_in_same_query!(
    counters,
    events,
    attribute_definitions,
    contract_reminders,
    attribute_values,
    contracts,
    installations,
    coverages,
    obligations,
    tasks,
    feed_tokens,
    service_calls,
    idempotency_keys,
    dossier_types,
    dossier_type_versions,
    workflows,
    workflow_versions,
    dossiers,
    dossier_date_triggers,
    dossier_business_events,
    workflow_instances,
    workflow_instance_steps,
    rule_firings,
    webhooks,
    webhook_deliveries,
    event_markers,
    sweep_marks,
    documents,
    document_blobs,
    document_versions,
    document_templates,
);
